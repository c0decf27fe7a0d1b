"""What an import did with each source file, and the researcher-defined class maps used for cleaning."""
from django.db import models

from jobs.models import Job

from .dataset import Dataset


class ImportStatus(models.TextChoices):
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"


class ImportRecord(models.Model):
    """One source (a video file or a manifest row) of one dataset; re-running an import skips the
    sources already imported and retries the failed ones."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="import_records")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=500, help_text="Video path relative to the import folder, or 'manifest line N'.")
    status = models.CharField(max_length=16, choices=ImportStatus.choices)
    code = models.CharField(max_length=32, blank=True, help_text="Kind of problem (no_audio, corrupt, ...).")
    reason = models.TextField(blank=True)
    pairs = models.PositiveIntegerField(default=0)
    info = models.JSONField(default=dict, blank=True, help_text="Codecs, size, duration, frame times.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dataset", "source"]
        constraints = [models.UniqueConstraint(fields=["dataset", "source"], name="import_record_unique_source")]

    def __str__(self):
        return f"{self.dataset.name}:{self.source} ({self.status})"


class ClassMap(models.Model):
    """A dataset-class -> ImageNet-classes map for cleaning; 'paper' (the nine classes) is built in."""

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    classes = models.JSONField(help_text='{"dog": ["golden retriever", 207, ...], "drum": ["drum"]}: '
                                         "ImageNet class names or indices (0-999) per class.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        from ..ml.cleaning import ClassMap as Map
        from ..ml.cleaning import ClassMapError
        from ..ml.imagenet_classes import imagenet_class_names

        if not isinstance(self.classes, dict):
            raise ValidationError({"classes": "must be a JSON object of class name -> list of ImageNet classes"})
        try:
            Map(self.classes, imagenet_class_names())
        except (ClassMapError, TypeError) as exc:
            raise ValidationError({"classes": str(exc)})
