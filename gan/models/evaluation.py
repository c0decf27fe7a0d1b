"""A stored score: one metric of one image set (a checkpoint's generated images, or a dataset's real
images: the upper bound), labelled with everything that makes two numbers comparable or not."""
from django.db import models

from jobs.models import Job

from .dataset import Dataset, Split
from .training import Checkpoint


class Metric(models.TextChoices):
    INCEPTION_SCORE = "inception_score", "Inception Score"
    FID = "fid", "FID"
    CLASS_CONSISTENCY = "class_consistency", "Class consistency"
    DIVERSITY = "diversity", "Within-class diversity"


class SuiteMetric(models.TextChoices):
    """Figures the suite's analysis stage computes itself (gan/kinds/suite_analysis.py), stored beside
    the scores with the suite as their job. Not a Metric: an evaluate job cannot be asked for them."""
    VOLUME_SENSITIVITY = "volume_sensitivity", "Volume sensitivity (Table 3: Spearman rho)"
    PROBE_CEILING = "probe_ceiling", "Linear-probe ceiling of a sound feature"


class ImageSource(models.TextChoices):
    GENERATED = "generated", "Generated images of a checkpoint"
    REAL = "real", "Real images of the dataset (upper bound)"
    FEATURES = "features", "Sound features of the dataset (the linear probe; no images)"


# 'all' = train + test real images: the paper's upper bound (row a of Table 4) used every real image.
SCORED_SPLITS = [*Split.choices, ("all", "Train and test")]


class Evaluation(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="evaluations")
    source = models.CharField(max_length=16, choices=ImageSource.choices)
    checkpoint = models.ForeignKey(Checkpoint, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="evaluations", help_text="Empty for real images.")
    split = models.CharField(max_length=8, choices=SCORED_SPLITS, default=Split.TEST,
                             help_text="Split of the sounds (generated) or of the images (real) scored.")
    volume = models.FloatField(null=True, blank=True, help_text="Volume factor of the generated images.")
    seed = models.BigIntegerField(null=True, blank=True, help_text="Generation seed of the images.")
    metric = models.CharField(max_length=32, choices=[*Metric.choices, *SuiteMetric.choices], db_index=True)
    classifier = models.CharField(max_length=100, help_text="Network whose outputs or features were scored.")
    order = models.CharField(max_length=16, blank=True,
                             help_text="IS split convention: 'paper' (class-ordered) or 'shuffled'.")
    order_seed = models.IntegerField(null=True, blank=True)
    splits = models.PositiveIntegerField(null=True, blank=True)
    n_images = models.PositiveIntegerField()
    value = models.FloatField(help_text="IS mean over splits, FID, or the overall class consistency.")
    std = models.FloatField(null=True, blank=True, help_text="IS: population std over splits.")
    per_split = models.JSONField(default=list, blank=True)
    per_class = models.JSONField(default=dict, blank=True,
                                 help_text="Class consistency per class: {class: {share, n}}.")
    details = models.JSONField(default=dict, blank=True,
                               help_text="Classifier accuracy, FID reference set, and the like.")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["checkpoint", "metric"], name="evaluation_ckpt_metric")]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(source__in=["real", "features"], checkpoint__isnull=True)
                           | models.Q(source="generated", checkpoint__isnull=False)),
                name="evaluation_checkpoint_iff_generated"),
        ]

    def __str__(self):
        target = f"checkpoint {self.checkpoint_id}" if self.checkpoint_id else f"real {self.split}"
        return f"{self.get_metric_display()} of {target} = {self.value:.4g} ({self.classifier})"

    @property
    def label(self) -> str:
        """'IS 3.21 ± 0.40' style text for pages."""
        if self.std is not None:
            return f"{self.value:.2f} ± {self.std:.2f}"
        if self.metric == Metric.CLASS_CONSISTENCY:
            return f"{100 * self.value:.1f}%"
        return f"{self.value:.2f}"
