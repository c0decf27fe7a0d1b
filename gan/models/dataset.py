"""Paired sound/image data: a Dataset is a set of Pairs, each a sound clip and an image with a class."""
from django.db import models


class Split(models.TextChoices):
    """Where a pair serves. 'val' and 'test' come from the training sources (voices, sample sets) on
    material never trained on (other melodies, other speakers of the same family); 'heldout' comes
    from a source never used in training at all (a sample set or voice family left out), so scores
    on it measure generalisation. Model selection uses 'val' only, never a test split."""

    TRAIN = "train", "Train"
    VAL = "val", "Validation (model selection)"
    TEST = "test", "Test (in-domain)"
    HELDOUT = "heldout", "Test (held-out source)"


class PairStatus(models.TextChoices):
    KEPT = "kept", "Kept"
    DISCARDED = "discarded", "Discarded"
    PENDING = "pending", "Not cleaned yet"


class Dataset(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=32, help_text="digits, stamps, manifest, videos, ...")
    root = models.CharField(max_length=500, help_text="Folder under MEDIA_ROOT holding its files.")
    class_names = models.JSONField(default=list, blank=True)
    image_size = models.PositiveIntegerField(default=64)
    channels = models.PositiveSmallIntegerField(default=3)
    split_seed = models.IntegerField(null=True, blank=True)
    info = models.JSONField(default=dict, blank=True, help_text="How it was built (params, counts).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Pair(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="pairs")
    sound = models.FileField(max_length=500, help_text="Path relative to MEDIA_ROOT.")
    image = models.FileField(max_length=500, help_text="Path relative to MEDIA_ROOT.")
    label = models.CharField(max_length=100, db_index=True)
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.TRAIN)
    group = models.CharField(max_length=200, blank=True,
                             help_text="The source (video, voice, stamp); a group never straddles the split.")
    status = models.CharField(max_length=16, choices=PairStatus.choices, default=PairStatus.KEPT)
    clean_report = models.JSONField(default=dict, blank=True,
                                    help_text="Both classifiers' predictions and why it was kept/discarded.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "sound", "image"], name="pair_unique_in_dataset"),
        ]
        indexes = [models.Index(fields=["dataset", "split", "status"], name="pair_dataset_split")]

    def __str__(self):
        return f"{self.dataset.name}:{self.label}#{self.pk}"
