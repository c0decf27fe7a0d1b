"""Reads of a run's checkpoints: its result, or its newest while it trains."""
from __future__ import annotations

from ..models import Checkpoint, TrainingRun


def latest_checkpoint(run: TrainingRun) -> Checkpoint | None:
    return run.checkpoints.order_by("-step").first()


def result_checkpoint(run: TrainingRun) -> Checkpoint | None:
    """The checkpoint validation chose (is_final), else the newest one (a run still training)."""
    return run.checkpoints.filter(is_final=True).first() or latest_checkpoint(run)
