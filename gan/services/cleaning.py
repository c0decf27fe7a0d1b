"""Cleaning: launch a `clean` job, and the class maps it compares predictions through.

The job (gan/kinds/clean.py) runs SoundNet on each sound and an ImageNet classifier on each frame,
compared through a class map (gan/ml/cleaning.py). Discarded pairs stay in the database with the
reason; nothing is deleted, and re-running replaces the previous decision."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from jobs.engine import create_job
from jobs.errors import JobError

from ..ml.cleaning import ClassMap, ClassMapError
from ..ml.weights import WeightsMissing
from ..models import Dataset
from .class_maps import BUILTIN_MAPS, ClassMapFileError  # noqa: F401 (BUILTIN_MAPS: the admin's choices)
from .class_maps import class_map_named as stored_class_map

IMAGE_CLASSIFIERS = ("efficientnet-lite0", "inception-v3")


def class_map_named(name: str) -> ClassMap:
    """A stored ClassMap of that name, else a built-in map ('paper': the nine classes); JobError
    when there is none, or when a stored map no longer passes the rules (class_maps.py)."""
    try:
        return stored_class_map(name)
    except (ClassMapFileError, ClassMapError) as exc:
        raise JobError(f"class map {name!r}: {exc}" if isinstance(exc, ClassMapError) else str(exc)) from None


@dataclass
class CleanParams:
    dataset_id: int
    class_map: str = "paper"
    top_k: int = 1
    image_classifier: str = "efficientnet-lite0"
    inception_weights: str = ""  # a local file; empty = look in WEIGHTS_DIR
    only_pending: bool = False
    batch_size: int = 32

    def __post_init__(self):
        if not 1 <= self.top_k <= 1000:
            raise ValueError(f"top_k must be in 1..1000, got {self.top_k}")
        if self.image_classifier not in IMAGE_CLASSIFIERS:
            raise ValueError(f"image_classifier must be one of {IMAGE_CLASSIFIERS}, not {self.image_classifier!r}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


def launch_cleaning(dataset: Dataset, *, user=None, enqueue: bool = True, **params):
    params = {"dataset_id": dataset.pk, **params}
    class_map_named(params.get("class_map", "paper"))  # refuse an unknown map before queueing
    if params.get("image_classifier") == "inception-v3":  # and a missing weights file
        from ..ml.classifiers.inception import find_inception_weights

        try:
            find_inception_weights(params.get("inception_weights") or None, settings.WEIGHTS_DIR)
        except WeightsMissing as exc:
            raise JobError(str(exc)) from exc
    return create_job("clean", params, user=user, enqueue=enqueue)
