"""A training run of one variant on one dataset with one sound feature, and its checkpoints."""
from django.conf import settings
from django.db import models

from jobs.models import Job

from .dataset import Dataset


class RunStatus(models.TextChoices):
    """How a run ended: `summary["status"]`. The trainer (gan/ml/trainer.py, no Django) writes the
    same strings; tests/gan/services/test_training.py checks that they are these values."""
    COMPLETED = "completed", "Completed (ran to its iteration cap)"
    EARLY_STOPPED = "early-stopped", "Early-stopped (validation stopped improving)"
    CANCELLED = "cancelled", "Cancelled (checkpoint kept)"
    DIVERGED = "diverged", "Diverged (non-finite losses)"


class TrainingRun(models.Model):
    name = models.CharField(max_length=200, blank=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="training_runs")
    variant = models.CharField(max_length=8, help_text="Table 4 row: b, c, d, e, f or g.")
    feature_spec = models.JSONField(default=dict)
    model_config = models.JSONField(default=dict)
    train_config = models.JSONField(default=dict)
    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="training_run")
    run_dir = models.CharField(max_length=500, blank=True, help_text="Under MEDIA_ROOT.")
    loss_plot = models.FileField(max_length=500, blank=True)
    latest_samples = models.FileField(max_length=500, blank=True)
    summary = models.JSONField(default=dict, blank=True)  # summary["status"] is a RunStatus
    validation = models.JSONField(
        default=dict, blank=True,
        help_text="How checkpoints are scored for model selection (split, classifier, class map); "
                  "used when the training config sets validate_every.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name or f"run #{self.pk} ({self.variant}, {self.feature_spec.get('kind', '?')})"


class Checkpoint(models.Model):
    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="checkpoints")
    step = models.PositiveIntegerField()
    path = models.CharField(max_length=500, help_text="Under MEDIA_ROOT.")
    is_final = models.BooleanField(
        default=False, verbose_name="result",
        help_text="The run's result: its last checkpoint, or the one validation picked.")
    val_score = models.FloatField(null=True, blank=True,
                                  help_text="Validation score at this step (class consistency), if validated.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "step"]
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="checkpoint_unique_step")]

    def __str__(self):
        return f"{self.run} @ {self.step}"
