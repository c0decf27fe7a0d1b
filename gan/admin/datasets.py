"""Datasets and their pairs: counts per class and split, Table 1 (kept / discarded per class), forms
that launch import, cleaning and split jobs, discarded pairs with thumbnails, audio and the reason,
what each import did with each file (class maps: class_maps.py)."""
import uuid
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from jobs.errors import JobError

from ..media_paths import media_path
from ..ml.media import DEFAULT_MAX_PIXELS
from ..models import ClassMap, Dataset, ImportRecord, Pair
from ..selectors.datasets import TABLE1_TITLE, import_counts, kept_count, pairs_per_class_and_split, table1
from ..services.cleaning import BUILTIN_MAPS, IMAGE_CLASSIFIERS, launch_cleaning
from ..services.ingest import UPLOADS_FOLDER, launch_video_import
from ..services.manifest_import import launch_manifest_import
from ..services.splitting import launch_split
from ..staff_access import admin_view_requiring
from .media import audio_player, image, thumbnail


class VideoImportForm(forms.Form):
    dataset = forms.SlugField(help_text="New or existing dataset name; videos already imported into it are skipped.")
    folder = forms.CharField(required=False, help_text="A folder of videos on the server (searched recursively).")
    archive = forms.FileField(required=False, help_text="Or upload a .zip / .tar.gz of videos.")
    n_frames = forms.IntegerField(min_value=1, max_value=64, initial=4, help_text="frames per video (the authors: 4)")
    frame_size = forms.IntegerField(min_value=8, max_value=1024, initial=64)
    segment_seconds = forms.FloatField(min_value=0, initial=0, help_text="0 = whole sound track; e.g. 30 to split")
    label_from_folder = forms.BooleanField(required=False, initial=True,
                                           help_text="label = the video's folder name until cleaning relabels")

    def clean(self):
        data = super().clean()
        if bool(data.get("folder")) == bool(data.get("archive")):
            raise forms.ValidationError("Give a folder or an archive (one of them).")
        return data


class ManifestImportForm(forms.Form):
    dataset = forms.SlugField()
    manifest = forms.CharField(help_text="Path of a CSV on the server with columns sound, image and optionally "
                                         "label, split, group (paths relative to the CSV's folder).")
    image_size = forms.IntegerField(min_value=8, max_value=1024, initial=64)
    trust_labels = forms.BooleanField(required=False, help_text="mark pairs kept without cleaning (curated data)")


class CleanForm(forms.Form):
    class_map = forms.ChoiceField(choices=())
    top_k = forms.IntegerField(min_value=1, max_value=1000, initial=1,
                               help_text="1 = both top-1 classes agree; 5 = the authors' code (top-5 overlap)")
    image_classifier = forms.ChoiceField(choices=[(c, c) for c in IMAGE_CLASSIFIERS])
    inception_weights = forms.CharField(required=False, help_text="local Inception-v3 file (torchvision format); "
                                                                  "empty = look in WEIGHTS_DIR")
    only_pending = forms.BooleanField(required=False, help_text="leave pairs already cleaned as they are")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = sorted(set(BUILTIN_MAPS) | set(ClassMap.objects.values_list("name", flat=True)))
        self.fields["class_map"].choices = [(n, n) for n in names]


class SplitForm(forms.Form):
    test_fraction = forms.FloatField(min_value=0.01, max_value=0.99, initial=0.1)
    seed = forms.IntegerField(initial=0)
    include_discarded = forms.BooleanField(required=False)


def table1_html(dataset) -> str:
    rows = table1(dataset)
    body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
        (r["class"], r["pairs"], r["kept"], r["discarded"], r["pending"],
         "-" if r["discard_rate"] is None else f"{100 * r['discard_rate']:.1f}%") for r in rows))
    url = reverse("gan:dataset-table1", args=[dataset.pk])
    return format_html(
        '<table><thead><tr><th>class</th><th>pairs</th><th>kept</th><th>discarded</th><th>pending</th>'
        '<th>discard rate</th></tr></thead><tbody>{}</tbody></table>'
        '<p><a href="{}?as=csv">CSV</a> · <a href="{}">JSON</a></p>', body, url, url)


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "n_pairs", "n_kept", "n_classes", "image_size", "channels", "created_at")
    readonly_fields = ("launch_links", "table_1", "class_counts", "import_summary")
    search_fields = ("name",)
    actions = ["clean_top1", "split_default"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_pairs=Count("pairs"))

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()  # nothing to count before it exists

    def get_urls(self):
        def adding(view):  # an import creates a dataset
            return admin_view_requiring(self.admin_site, view, self.has_add_permission)

        def changing(view):  # cleaning and splitting rewrite a dataset's pairs
            return admin_view_requiring(self.admin_site, view, self.has_change_permission)

        return [
            path("import-videos/", adding(self.import_videos_view), name="gan_dataset_import_videos"),
            path("import-manifest/", adding(self.import_manifest_view), name="gan_dataset_import_manifest"),
            path("<int:dataset_id>/clean/", changing(self.clean_view), name="gan_dataset_clean"),
            path("<int:dataset_id>/split/", changing(self.split_view), name="gan_dataset_split"),
        ] + super().get_urls()

    # -- launch forms

    def _form_page(self, request, form, title, intro=""):
        context = dict(self.admin_site.each_context(request), form=form, title=title, intro=intro,
                       opts=self.model._meta)
        return TemplateResponse(request, "admin/gan/dataset/launch_form.html", context)

    def _launched(self, request, job, what):
        self.message_user(request, f"{what}: job #{job.pk} queued.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))

    def import_videos_view(self, request):
        form = VideoImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            params = {k: d[k] for k in ("dataset", "n_frames", "frame_size", "segment_seconds", "label_from_folder")}
            if d.get("archive"):
                params["archive"] = str(self._save_upload(d["archive"]))
            else:
                params["folder"] = d["folder"]
            params["max_pixels"] = DEFAULT_MAX_PIXELS
            try:
                return self._launched(request, launch_video_import(user=request.user, **params), "Video import")
            except JobError as exc:
                form.add_error(None, str(exc))
        return self._form_page(request, form, "Import videos",
                               "Frames at evenly spaced offsets and the sound track (FLAC, native rate) of each "
                               "video become pending pairs; a file that cannot be used is recorded with the reason.")

    @staticmethod
    def _save_upload(upload) -> Path:
        # A generated name with no extension from the browser (an ".html" upload must not be stored
        # as one under MEDIA_ROOT): the import tells zip from tar (and its compression) by content.
        target = media_path(UPLOADS_FOLDER) / f"{uuid.uuid4().hex}.archive"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return target

    def import_manifest_view(self, request):
        form = ManifestImportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                return self._launched(request, launch_manifest_import(user=request.user, **form.cleaned_data),
                                      "Manifest import")
            except JobError as exc:
                form.add_error(None, str(exc))
        return self._form_page(request, form, "Import a CSV manifest")

    def clean_view(self, request, dataset_id):
        dataset = get_object_or_404(Dataset, pk=dataset_id)
        form = CleanForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                return self._launched(request, launch_cleaning(dataset, user=request.user, **form.cleaned_data),
                                      f"Cleaning of {dataset.name}")
            except JobError as exc:
                form.add_error(None, str(exc))
        return self._form_page(request, form, f"Clean {dataset.name}",
                               "SoundNet's object prediction on each sound and the image classifier on each frame "
                               "are compared through the class map; discarded pairs are kept with the reason.")

    def split_view(self, request, dataset_id):
        dataset = get_object_or_404(Dataset, pk=dataset_id)
        form = SplitForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            return self._launched(request, launch_split(dataset, user=request.user, **form.cleaned_data),
                                  f"Split of {dataset.name}")
        return self._form_page(request, form, f"Split {dataset.name} into train/test",
                               "By source video (never one video on both sides), stratified by class, seeded.")

    # -- actions on the list

    @admin.action(description="Clean (paper's nine classes, top-1, EfficientNet-Lite0)")
    def clean_top1(self, request, queryset):
        for dataset in queryset:
            job = launch_cleaning(dataset, user=request.user)
            self.message_user(request, f"{dataset.name}: cleaning job #{job.pk} queued.")

    @admin.action(description="Split train/test by source (10%% test, seed 0)")
    def split_default(self, request, queryset):
        for dataset in queryset:
            job = launch_split(dataset, user=request.user)
            self.message_user(request, f"{dataset.name}: split job #{job.pk} queued.")

    # -- columns and read-only fields

    @admin.display(description="pairs", ordering="_pairs")
    def n_pairs(self, dataset):
        return dataset._pairs

    @admin.display(description="kept")
    def n_kept(self, dataset):
        return kept_count(dataset)

    @admin.display(description="classes")
    def n_classes(self, dataset):
        return len(dataset.class_names)

    @admin.display(description="jobs")
    def launch_links(self, dataset):
        pairs = reverse("admin:gan_pair_changelist")
        return format_html(
            '<a class="button" href="{}">Clean…</a> <a class="button" href="{}">Split…</a> '
            '<a href="{}?dataset__id__exact={}&status__exact=discarded">browse discarded pairs</a>',
            reverse("admin:gan_dataset_clean", args=[dataset.pk]), reverse("admin:gan_dataset_split", args=[dataset.pk]),
            pairs, dataset.pk)

    @admin.display(description=TABLE1_TITLE)
    def table_1(self, dataset):
        return table1_html(dataset)

    @admin.display(description="pairs per class (train / test)")
    def class_counts(self, dataset):
        table = pairs_per_class_and_split(dataset)
        return format_html_join("", "<div>{}: {} / {}</div>",
                                ((label, c.get("train", 0), c.get("test", 0)) for label, c in table.items()))

    @admin.display(description="imports")
    def import_summary(self, dataset):
        counts = import_counts(dataset)
        url = reverse("admin:gan_importrecord_changelist")
        return format_html('{} imported, {} failed · <a href="{}?dataset__id__exact={}">per file</a>',
                           counts.get("imported", 0), counts.get("failed", 0), url, dataset.pk)


@admin.register(Pair)
class PairAdmin(admin.ModelAdmin):
    list_display = ("id", "dataset", "label", "split", "group", "status", "image_thumb", "sound_player", "reason")
    list_filter = ("dataset", "split", "status", "label")
    search_fields = ("label", "group")
    readonly_fields = ("image_large", "sound_player", "reason", "clean_report")

    @admin.display(description="image")
    def image_thumb(self, pair):
        return thumbnail(pair.image.name)

    @admin.display(description="image")
    def image_large(self, pair):
        return image(pair.image.name, 256)

    @admin.display(description="sound")
    def sound_player(self, pair):
        return audio_player(pair.sound.name)

    @admin.display(description="why kept / discarded")
    def reason(self, pair):
        return pair.clean_report.get("reason", "-")


@admin.register(ImportRecord)
class ImportRecordAdmin(admin.ModelAdmin):
    list_display = ("source", "dataset", "status", "code", "reason", "pairs", "updated_at")
    list_filter = ("dataset", "status", "code")
    search_fields = ("source", "reason")
    readonly_fields = ("dataset", "job", "source", "status", "code", "reason", "pairs", "info", "updated_at")
