"""Reads of generated images: the image sets that scores are computed on."""
from __future__ import annotations

from django.db.models import Count

from ..models import Checkpoint, GeneratedImage


def generated_images(checkpoint: Checkpoint, split: str, volume: float, seed: int):
    """A checkpoint's images of one volume and seed, generated from the sounds of one split."""
    return GeneratedImage.objects.filter(checkpoint=checkpoint, volume=volume, seed=seed,
                                         source_pair__split=split)


def checkpoints_with_images():
    """Checkpoints that have generated images (what a study can be built from), in variant order."""
    return (Checkpoint.objects.annotate(n_images=Count("images")).filter(n_images__gt=0)
            .select_related("run").order_by("run__variant", "run_id", "step"))
