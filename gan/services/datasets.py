"""Datasets: their class list (kept stable across imports and cleanings) and their pairs' images
decoded for a model. Importing data is ingest.py (videos) and manifest_import.py (CSV manifests)."""
from __future__ import annotations

import numpy as np

from ..media_paths import media_path
from ..ml.cleaning import UNMAPPED
from ..ml.media import MediaError, read_image
from ..models import Dataset, PairStatus


class DatasetImportError(ValueError):
    """A dataset's files or manifest cannot be used; the message says which and why."""


def stable_class_names(current: list[str], labels: set[str]) -> list[str]:
    """The classes `labels` in a stable order: those already in `current` keep their place, new ones
    follow in sorted order. A model's class index is a position in this list, so a re-import or a
    re-cleaning must not reorder the classes that remain."""
    kept = [name for name in current if name in labels]
    return kept + sorted(labels - set(kept))


def refresh_class_names(dataset: Dataset) -> list[str]:
    """Set (not save) `dataset.class_names`: the labels of its kept pairs (what training uses), or,
    before any pair is kept, the provisional labels of its pending pairs. Discarded pairs never count
    (their label is a guess or 'unmapped'), so a re-import that adds nothing changes nothing."""
    def labels(status):
        return set(dataset.pairs.filter(status=status).values_list("label", flat=True).distinct())

    found = labels(PairStatus.KEPT) or labels(PairStatus.PENDING)
    dataset.class_names = stable_class_names(list(dataset.class_names or []), found - {UNMAPPED})
    return dataset.class_names


def load_images(pairs, image_size: int, channels: int) -> np.ndarray:
    """Decode the pairs' images to (N, C, H, W) uint8 at the model's size and channel count."""
    out = np.empty((len(pairs), channels, image_size, image_size), dtype=np.uint8)
    for i, pair in enumerate(pairs):
        path = media_path(pair.image.name)
        try:  # the import's pixel cap, from the header; cut-outs on white
            out[i] = read_image(path, channels=channels, size=image_size, channels_first=True)
        except (MediaError, OSError) as exc:
            raise DatasetImportError(f"image of pair #{pair.pk} ({path}) cannot be read: {exc}") from exc
    return out
