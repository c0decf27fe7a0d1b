"""The paper suite as rows: one SuiteCell per (table row, seed) of a `suite` job, with the training
run, checkpoint and child jobs that serve it, and one SuiteUpperBound per scored set of real images
(Table 4's row a). The suite's analyses (volume sensitivity, linear-probe ceilings) are Evaluation
rows whose job is the suite itself (gan/models/evaluation.py: SuiteMetric). So "which seeds of row f
converged?" is a query:

    SuiteCell.objects.filter(suite=job, variant="f", status=CellStatus.CONVERGED).values_list("seed", flat=True)
"""
from django.db import models

from jobs.models import Job

from .training import Checkpoint, TrainingRun


class CellStatus(models.TextChoices):
    """How a cell's training ended, as the suite reads it from the run's summary."""
    PLANNED = "planned", "Planned (not trained yet)"
    CONVERGED = "converged", "Converged (validation stopped improving)"
    CAP = "cap", "Stopped by the iteration cap"
    CAP_IMPROVING = "cap, still improving", "Stopped by the cap while the best score was recent"
    COMPLETED = "completed", "Completed (no model selection)"
    DIVERGED = "diverged", "Diverged (reported, left out of the means)"


class SuiteCell(models.Model):
    suite = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="suite_cells",
                              help_text="The parent `suite` job.")
    position = models.PositiveIntegerField(help_text="Order in the suite's plan (rows, then seeds).")
    variant = models.CharField(max_length=8, help_text="Table 4 row: b..g (h and its ablations on request).")
    feature = models.CharField(max_length=16, help_text="Sound feature kind (Table 2 row).")
    seed = models.BigIntegerField()
    in_table2 = models.BooleanField(default=False)
    in_table4 = models.BooleanField(default=False)
    status = models.CharField(max_length=24, choices=CellStatus.choices, default=CellStatus.PLANNED)
    run = models.ForeignKey(TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="suite_cells")
    checkpoint = models.ForeignKey(Checkpoint, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="suite_cells", help_text="The run's result, once generation starts.")
    train_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    generate_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    generate_heldout_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    evaluate_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    evaluate_heldout_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    step = models.PositiveIntegerField(null=True, blank=True, help_text="Step of the run's result.")
    iterations = models.PositiveIntegerField(null=True, blank=True, help_text="Iterations the run trained.")
    elapsed_s = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["suite", "position"]
        constraints = [
            models.UniqueConstraint(fields=["suite", "variant", "feature", "seed"], name="suite_cell_unique"),
        ]

    def __str__(self):
        return f"suite #{self.suite_id} {self.key} seed {self.seed} ({self.status})"

    @property
    def key(self) -> str:
        """The table row: 'variant/feature', e.g. 'g/mfcc'."""
        return f"{self.variant}/{self.feature}"

    @property
    def tables(self) -> list[str]:
        return (["2"] if self.in_table2 else []) + (["4"] if self.in_table4 else [])


class SuiteUpperBound(models.Model):
    """An evaluate job of the suite that scores the dataset's real images (Table 4, row a)."""
    suite = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="suite_upper_bounds")
    heldout = models.BooleanField(default=False, help_text="Real images of the held-out source.")
    evaluate_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["suite", "heldout"]
        constraints = [models.UniqueConstraint(fields=["suite", "heldout"], name="suite_upper_bound_unique")]

    def __str__(self):
        return f"suite #{self.suite_id} real images{' (held-out)' if self.heldout else ''}"
