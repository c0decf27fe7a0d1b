"""Training runs: launch (validate every setting, store the TrainingRun and its `train` job).

The job's body is gan/kinds/train.py."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from jobs.engine import create_job
from jobs.errors import JobError

from ..ml.features import FeatureSpec, feature_dim
from ..ml.variants import ModelConfig, TrainConfig, get_variant
from ..models import Dataset, Split, TrainingRun
from ..selectors.datasets import usable_pairs
from . import limits
from .scoring import CLASSIFIERS, EvaluationError, check_weights


@dataclass
class TrainParams:
    run_id: int


VALIDATION_DEFAULTS = {"split": Split.VAL, "classifier": "domain", "class_map": {}, "closed_set": True,
                       "max_sounds": 0}


def check_validation(dataset: Dataset, validation: dict | None, train_cfg: TrainConfig) -> dict:
    """The run's model-selection settings, completed with defaults; raises JobError when unusable.

    Validation scores the class consistency of images made from the sounds of a split that is not
    the test split (by default 'val': the training sources, melodies or speakers not trained on)."""
    if not train_cfg.validate_every:
        if validation:
            raise JobError("validation settings were given but train.validate_every is 0")
        return {}
    unknown = sorted(set(validation or {}) - set(VALIDATION_DEFAULTS))
    if unknown:
        raise JobError(f"unknown validation settings {unknown}; valid: {sorted(VALIDATION_DEFAULTS)}")
    settings_ = {**VALIDATION_DEFAULTS, **(validation or {})}
    if settings_["split"] in (Split.TEST, Split.HELDOUT):
        raise JobError("validation must not use a test split (model selection on test data biases every "
                       "reported score); use 'val' (or 'train')")
    if settings_["split"] not in Split.values:
        raise JobError(f"validation split must be one of {Split.values}")
    if settings_["classifier"] not in CLASSIFIERS:
        raise JobError(f"validation classifier must be one of {list(CLASSIFIERS)}")
    labels = set(usable_pairs(dataset, settings_["split"]).values_list("label", flat=True))
    if len(labels) < 2:
        raise JobError(f"dataset {dataset.name!r} has {settings_['split']} pairs of {len(labels)} class(es); "
                       "validation needs at least 2 (build or split the dataset with a validation part)")
    try:
        check_weights(settings_["classifier"], need_fid=False)
    except EvaluationError as exc:
        raise JobError(str(exc)) from exc
    return settings_


def launch_training(dataset: Dataset, *, variant: str, feature: dict, model: dict | None = None,
                    train: dict | None = None, validation: dict | None = None, name: str = "", user=None,
                    enqueue: bool = True) -> TrainingRun:
    """Check every setting before anything is stored; then a TrainingRun and its `train` job."""
    try:
        variant_obj = get_variant(variant)
        spec = FeatureSpec.from_dict(feature)
        model_cfg = ModelConfig.from_dict({
            "image_size": dataset.image_size, "channels": dataset.channels, **(model or {}),
            "sound_dim": feature_dim(spec), "num_classes": len(dataset.class_names)})
        train_cfg = TrainConfig.from_dict(train or {"epochs": 300})
    except (ValueError, TypeError) as exc:
        raise JobError(str(exc)) from exc
    train_labels = list(usable_pairs(dataset, Split.TRAIN).values_list("label", flat=True))
    labels = set(train_labels)
    if len(labels) < 2:
        raise JobError(f"dataset {dataset.name!r} has training pairs of {len(labels)} class(es); "
                       "a conditional GAN needs at least 2")
    limits.check_training(model_cfg, train_cfg, len(train_labels))
    validation = check_validation(dataset, validation, train_cfg)
    with transaction.atomic():
        run = TrainingRun.objects.create(
            name=name, dataset=dataset, variant=variant_obj.name, feature_spec=spec.to_dict(),
            model_config=model_cfg.to_dict(), train_config=train_cfg.to_dict(), validation=validation,
            created_by=user)
        run.run_dir = f"runs/{run.pk}"
        run.job = create_job("train", {"run_id": run.pk}, user=user, enqueue=enqueue)
        run.save(update_fields=["run_dir", "job"])
    return run


def save_run_edit(run: TrainingRun) -> None:
    """Store what staff changed on a run's admin page (its name: every other field is read-only there)."""
    run.save()
