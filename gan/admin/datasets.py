"""Datasets and their pairs: counts per class and split, thumbnails and audio players."""
from django.contrib import admin
from django.db.models import Count

from ..models import Dataset, Pair
from .media import audio_player, image, thumbnail


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "n_pairs", "n_classes", "image_size", "channels", "created_at")
    readonly_fields = ("class_counts",)
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_pairs=Count("pairs"))

    @admin.display(description="pairs", ordering="_pairs")
    def n_pairs(self, dataset):
        return dataset._pairs

    @admin.display(description="classes")
    def n_classes(self, dataset):
        return len(dataset.class_names)

    @admin.display(description="pairs per class (train / test)")
    def class_counts(self, dataset):
        from django.utils.html import format_html_join

        rows = (dataset.pairs.values("label", "split").annotate(n=Count("id")).order_by("label", "split"))
        table: dict[str, dict] = {}
        for row in rows:
            table.setdefault(row["label"], {})[row["split"]] = row["n"]
        return format_html_join("", "<div>{}: {} / {}</div>",
                                ((label, c.get("train", 0), c.get("test", 0)) for label, c in table.items()))


@admin.register(Pair)
class PairAdmin(admin.ModelAdmin):
    list_display = ("id", "dataset", "label", "split", "group", "status", "image_thumb", "sound_player")
    list_filter = ("dataset", "split", "status", "label")
    search_fields = ("label", "group")
    readonly_fields = ("image_large", "sound_player", "clean_report")

    @admin.display(description="image")
    def image_thumb(self, pair):
        return thumbnail(pair.image.name)

    @admin.display(description="image")
    def image_large(self, pair):
        return image(pair.image.name, 256)

    @admin.display(description="sound")
    def sound_player(self, pair):
        return audio_player(pair.sound.name)
