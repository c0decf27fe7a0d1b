"""Reads of the Try it page: the checkpoints it offers."""
from __future__ import annotations

from ..models import Checkpoint


def offered_checkpoints(chosen: list[int], *, listed: int) -> list[Checkpoint]:
    """The checkpoints the page lists: the `chosen` ones that are not among them first, then the
    `listed` most recent results (final checkpoints of the newest runs), each with its run and dataset."""
    recent = list(Checkpoint.objects.select_related("run__dataset").filter(is_final=True)
                  .order_by("-run__created_at", "-run_id")[:listed])
    extra = Checkpoint.objects.select_related("run__dataset").filter(pk__in=chosen).exclude(
        pk__in=[c.pk for c in recent])
    return list(extra) + recent
