"""Reads of generated images: the image sets that scores are computed on."""
from __future__ import annotations

from ..models import Checkpoint, GeneratedImage


def generated_images(checkpoint: Checkpoint, split: str, volume: float, seed: int):
    """A checkpoint's images of one volume and seed, generated from the sounds of one split."""
    return GeneratedImage.objects.filter(checkpoint=checkpoint, volume=volume, seed=seed,
                                         source_pair__split=split)
