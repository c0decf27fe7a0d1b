"""Training runs: a launch form (dataset, variant, feature, sizes, schedule), live progress, the
loss curve and the latest sample grid, checkpoints, and a 'generate images' action."""
from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from jobs.admin import PROGRESS_MEDIA, progress_bar, status_badge
from jobs.errors import JobError

from ..ml.variants import VARIANTS
from ..models import Checkpoint, Dataset, GeneratedImage, TrainingRun
from ..selectors.checkpoints import latest_checkpoint, result_checkpoint
from ..services.generation import TABLE3_VOLUMES, launch_generation
from ..services.training import launch_training, save_run_edit
from .choices import FEATURE_CHOICES, POOLING_CHOICES
from .media import image, thumbnail


def try_link(ckpt: Checkpoint) -> str:
    """The Try it page with this checkpoint chosen: images from a sound you upload or record."""
    return format_html('<a href="{}?checkpoint={}">images from your own sound</a>', reverse("gan:try"), ckpt.pk)


class TrainingLaunchForm(forms.ModelForm):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.all())
    variant = forms.ChoiceField(choices=(), initial="g")
    feature_kind = forms.ChoiceField(choices=FEATURE_CHOICES, initial="soundnet")
    pooling = forms.ChoiceField(choices=POOLING_CHOICES, initial="mean")
    image_size = forms.TypedChoiceField(choices=[(64, "64x64"), (32, "32x32")], coerce=int, initial=64)
    channels = forms.TypedChoiceField(choices=[(3, "RGB"), (1, "grayscale")], coerce=int, initial=3)
    g_width = forms.IntegerField(min_value=4, max_value=512, initial=64)
    d_width = forms.IntegerField(min_value=4, max_value=512, initial=64)
    z_dim = forms.IntegerField(min_value=0, max_value=512, initial=10, help_text="0 = the released code")
    iterations = forms.IntegerField(min_value=1, required=False, help_text="or give epochs")
    epochs = forms.FloatField(min_value=0.01, required=False, help_text="the paper: 300")
    batch_size = forms.IntegerField(min_value=2, max_value=4096, initial=32)
    seed = forms.IntegerField(min_value=0, initial=0)
    checkpoint_every = forms.IntegerField(min_value=1, initial=500)

    class Meta:
        model = TrainingRun
        fields = ["name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["variant"].choices = [(k, v.title) for k, v in VARIANTS.items()]

    def clean(self):
        data = super().clean()
        if (data.get("iterations") is None) == (data.get("epochs") is None):
            raise forms.ValidationError("Give either iterations or epochs.")
        return data


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "__str__", "dataset", "variant", "feature", "job_status", "job_progress",
                    "samples_thumb", "created_at")
    list_filter = ("variant", "dataset")
    readonly_fields = ("dataset", "variant", "feature_spec", "model_config", "train_config",
                       "job_link", "job_progress", "try_it", "loss_curve", "samples", "summary", "run_dir")
    actions = ["generate_from_final"]

    class Media:
        css = PROGRESS_MEDIA["css"]
        js = PROGRESS_MEDIA["js"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TrainingLaunchForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(TrainingLaunchForm.base_fields) + ["name"]
        return ["name", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return save_run_edit(obj)
        d = form.cleaned_data
        run = launch_training(
            d["dataset"], variant=d["variant"], name=d.get("name", ""), user=request.user,
            feature={"kind": d["feature_kind"], "pooling": d["pooling"]},
            model={"image_size": d["image_size"], "channels": d["channels"], "g_width": d["g_width"],
                   "d_width": d["d_width"], "z_dim": d["z_dim"]},
            train={k: d[k] for k in ("iterations", "epochs", "batch_size", "seed", "checkpoint_every")
                   if d.get(k) is not None})
        obj.pk = run.pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except JobError as exc:
            self.message_user(request, f"Training not launched: {exc}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    @admin.display(description="feature")
    def feature(self, run):
        return run.feature_spec.get("kind", "?")

    @admin.display(description="status")
    def job_status(self, run):
        return status_badge(run.job) if run.job else "-"

    @admin.display(description="progress")
    def job_progress(self, run):
        return progress_bar(run.job) if run.job else "-"

    @admin.display(description="job")
    def job_link(self, run):
        if not run.job:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:jobs_job_change", args=[run.job_id]), run.job)

    @admin.display(description="try it")
    def try_it(self, run):
        result = result_checkpoint(run)
        return try_link(result) if result else "(no checkpoint yet)"

    @admin.display(description="loss curves")
    def loss_curve(self, run):
        return image(run.loss_plot.name, 720)

    @admin.display(description="latest samples")
    def samples(self, run):
        return image(run.latest_samples.name, 720)

    @admin.display(description="samples")
    def samples_thumb(self, run):
        return thumbnail(run.latest_samples.name, 96)

    @admin.action(description="Generate images (test sounds, volumes 0.5/1/2/3) from the final checkpoint")
    def generate_from_final(self, request, queryset):
        checkpoints = [latest_checkpoint(run) for run in queryset]
        checkpoints = [c for c in checkpoints if c is not None]
        if not checkpoints:
            self.message_user(request, "None of these runs has a checkpoint yet.", messages.WARNING)
            return
        job = launch_generation(checkpoints, volumes=TABLE3_VOLUMES, user=request.user)
        self.message_user(request, f"Generation job #{job.pk} queued for {len(checkpoints)} checkpoint(s).")


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ("id", "run", "step", "is_final", "val_score", "created_at", "try_it")
    list_filter = ("is_final",)
    readonly_fields = ("run", "step", "path", "is_final", "val_score", "try_it")

    @admin.display(description="try it")
    def try_it(self, ckpt):
        return try_link(ckpt)


@admin.register(GeneratedImage)
class GeneratedImageAdmin(admin.ModelAdmin):
    list_display = ("id", "thumb", "sound_label", "volume", "seed", "checkpoint", "created_at")
    list_filter = ("sound_label", "volume", "checkpoint__run__variant")
    readonly_fields = ("checkpoint", "source_pair", "sound", "sound_label", "large", "volume", "seed",
                       "job", "provenance")
    exclude = ("image",)

    @admin.display(description="image")
    def thumb(self, obj):
        return thumbnail(obj.image.name)

    @admin.display(description="image")
    def large(self, obj):
        return image(obj.image.name, 256)
