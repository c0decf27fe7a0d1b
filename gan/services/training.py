"""Training runs: launch (validate, store, enqueue) and the `train` job kind that runs them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction

from ..jobs import JobCancelled, JobContext, JobError, create_job, job_kind
from ..ml.checkpoint import latest_checkpoint
from ..ml.data import PairedArrays
from ..ml.features import FeatureSpec, feature_dim
from ..ml.generate import plot_losses
from ..ml.trainer import Trainer
from ..ml.variants import ModelConfig, TrainConfig, get_variant
from ..models import Checkpoint, Dataset, Split, TrainingRun
from .datasets import load_images, usable_pairs
from .features import features_for_pairs


def _relative(path: Path) -> str:
    return str(Path(path).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()))


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


@dataclass
class TrainParams:
    run_id: int


class _JobCallbacks:
    """Connects the trainer to the Job row (progress, cancel) and the run's rows and files."""

    def __init__(self, ctx: JobContext, run: TrainingRun):
        self.ctx, self.run = ctx, run

    def on_progress(self, step, total, metrics):
        self.ctx.progress(step, total, metrics={k: round(float(v), 5) for k, v in metrics.items()},
                          message=f"iteration {step}/{total}")

    def should_stop(self) -> bool:
        return self.ctx.cancel_requested()

    def on_checkpoint(self, path, step):
        Checkpoint.objects.update_or_create(run=self.run, step=step, defaults={"path": _relative(path)})
        self._plot()

    def on_samples(self, path, step):
        self.run.latest_samples = _relative(path)
        self.run.save(update_fields=["latest_samples"])

    def _plot(self):
        import torch

        path = latest_checkpoint(settings.MEDIA_ROOT / self.run.run_dir)
        history = torch.load(path, map_location="cpu", weights_only=False)["history"]
        out = settings.MEDIA_ROOT / self.run.run_dir / "loss.png"
        out.write_bytes(plot_losses(history))
        self.run.loss_plot = _relative(out)
        self.run.save(update_fields=["loss_plot"])


def training_data(run: TrainingRun, ctx: JobContext | None = None, split: str = Split.TRAIN) -> PairedArrays:
    """The run's pairs as arrays: cached features, decoded images, class indices."""
    dataset = run.dataset
    pairs = list(usable_pairs(dataset, split))
    spec = FeatureSpec.from_dict(run.feature_spec)
    model_cfg = ModelConfig.from_dict(run.model_config)

    def progress(done, total):
        if ctx:
            ctx.progress(0, 0, message=f"sound features {done}/{total} ({spec.kind})")

    features = features_for_pairs(pairs, spec, progress=progress)
    images = load_images(pairs, model_cfg.image_size, model_cfg.channels)
    index = {name: i for i, name in enumerate(dataset.class_names)}
    labels = np.array([index[p.label] for p in pairs], dtype=np.int64)
    return PairedArrays(features, images, labels, list(dataset.class_names), sound_ids=[p.pk for p in pairs])


@job_kind("train", queue="gpu", params=TrainParams, label="Train a GAN (one Table 4 row)")
def run_training(ctx: JobContext, params: dict) -> dict:
    run = TrainingRun.objects.select_related("dataset").get(pk=params["run_id"])
    import torch

    if not torch.cuda.is_available() and settings.TORCH_CPU_THREADS:
        torch.set_num_threads(settings.TORCH_CPU_THREADS)
    data = training_data(run, ctx)
    ctx.log(f"{len(data)} training pairs, {len(data.class_names)} classes, features {data.features.shape[1]}-d")
    trainer = Trainer(ModelConfig.from_dict(run.model_config), run.variant,
                      TrainConfig.from_dict(run.train_config), data,
                      run_dir=settings.MEDIA_ROOT / run.run_dir, callbacks=_JobCallbacks(ctx, run),
                      metadata={"run_id": run.pk, "dataset": run.dataset.name,
                                "feature_spec": run.feature_spec})
    if trainer.resumed_from:
        ctx.log(f"resuming from {trainer.resumed_from.name} (step {trainer.step})")
    summary = trainer.train()
    run.summary = summary
    run.save(update_fields=["summary"])
    if summary["status"] == "cancelled":
        ctx.log(f"stopped at iteration {summary['step']}; checkpoint kept")
        raise JobCancelled()
    Checkpoint.objects.filter(run=run).exclude(step=summary["step"]).update(is_final=False)
    Checkpoint.objects.filter(run=run, step=summary["step"]).update(is_final=True)
    return {k: summary[k] for k in ("step", "total", "elapsed_s", "images_per_s", "device")}
