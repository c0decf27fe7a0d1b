"""Reads of Figure rows: the class grid and volume table drawn for a checkpoint."""
from __future__ import annotations

from ..models import Figure, FigureKind

KINDS = (FigureKind.CLASS_GRID, FigureKind.VOLUME_TABLE)   # the order a report lists them in


def figures_of_job(job_id: int | None, checkpoint_id: int | None) -> dict[str, str]:
    """{kind: path} of what one generate job drew for one checkpoint."""
    if job_id is None or checkpoint_id is None:
        return {}
    found = dict(Figure.objects.filter(job_id=job_id, checkpoint_id=checkpoint_id).values_list("kind", "path"))
    return {kind.value: found[kind] for kind in KINDS if found.get(kind)}


def latest_figures(checkpoint_id: int) -> dict[str, str]:
    """{kind: path} from the newest generate job that drew a class grid for the checkpoint."""
    newest = (Figure.objects.filter(checkpoint_id=checkpoint_id, kind=FigureKind.CLASS_GRID, job__isnull=False)
              .order_by("-job_id").values_list("job_id", flat=True).first())
    return figures_of_job(newest, checkpoint_id)
