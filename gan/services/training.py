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


@dataclass
class TrainParams:
    run_id: int


def launch_training(dataset: Dataset, *, variant: str, feature: dict, model: dict | None = None,
                    train: dict | None = None, name: str = "", user=None, enqueue: bool = True) -> TrainingRun:
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
    labels = set(usable_pairs(dataset, Split.TRAIN).values_list("label", flat=True))
    if len(labels) < 2:
        raise JobError(f"dataset {dataset.name!r} has training pairs of {len(labels)} class(es); "
                       "a conditional GAN needs at least 2")
    with transaction.atomic():
        run = TrainingRun.objects.create(
            name=name, dataset=dataset, variant=variant_obj.name, feature_spec=spec.to_dict(),
            model_config=model_cfg.to_dict(), train_config=train_cfg.to_dict(), created_by=user)
        run.run_dir = f"runs/{run.pk}"
        run.job = create_job("train", {"run_id": run.pk}, user=user, enqueue=enqueue)
        run.save(update_fields=["run_dir", "job"])
    return run
