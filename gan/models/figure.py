"""A figure a generate job drew for one checkpoint: the per-class grid (Fig. 2) or the volume table
(Table 3), a PNG under MEDIA_ROOT. The job's metrics name the same files (outputs); the rows let a
report find them by checkpoint instead of by key strings."""
from django.db import models

from jobs.models import Job

from .dataset import Split
from .training import Checkpoint


class FigureKind(models.TextChoices):
    CLASS_GRID = "class_grid", "Class grid (Fig. 2)"
    VOLUME_TABLE = "volume_table", "Volume table (Table 3)"


class Figure(models.Model):
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.CASCADE, related_name="figures")
    kind = models.CharField(max_length=16, choices=FigureKind.choices)
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.TEST,
                             help_text="Split of the sounds the images came from.")
    path = models.CharField(max_length=500, help_text="Under MEDIA_ROOT.")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            help_text="The generate job that drew it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["checkpoint", "kind", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "checkpoint", "kind"], name="figure_unique")]

    def __str__(self):
        return f"{self.get_kind_display()} of checkpoint {self.checkpoint_id}"
