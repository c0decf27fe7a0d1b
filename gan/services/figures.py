"""Writes of Figure rows (gan/models/figure.py): a generate job records each grid and volume table it
drew, so reports find a checkpoint's figures by query rather than by key strings in job metrics."""
from __future__ import annotations

from ..models import Checkpoint, Figure


def record_figure(job_id: int, checkpoint: Checkpoint, kind: str, split: str, path: str) -> Figure:
    """One row per (job, checkpoint, kind): a retried job's figure replaces its earlier path."""
    figure, _ = Figure.objects.update_or_create(job_id=job_id, checkpoint=checkpoint, kind=kind,
                                                defaults={"split": split, "path": path})
    return figure
