"""The `train` job: one TrainingRun through the trainer, with progress, cancel, checkpoints as rows,
the loss plot and the latest samples. Resumes from the run's last checkpoint."""
from __future__ import annotations

import numpy as np
import torch
from django.conf import settings

from jobs.context import JobContext
from jobs.errors import JobCancelled

from ..media_paths import media_path, media_relative
from ..ml import atomic
from ..ml.paired_arrays import PairedArrays, class_index
from ..ml.features import FeatureSpec
from ..ml.generate import plot_losses
from ..ml.trainer import Trainer, TrainingDiverged
from ..ml.variants import ModelConfig, TrainConfig
from ..models import Checkpoint, RunStatus, Split, TrainingRun
from ..selectors.datasets import usable_pairs
from ..services.datasets import load_images
from ..services.features import features_for_pairs
from ..services.training import TrainParams
from .validation import build_validator


class _JobCallbacks:
    """Connects the trainer to the Job row (progress, cancel) and the run's rows and files."""

    def __init__(self, ctx: JobContext, run: TrainingRun):
        self.ctx, self.run = ctx, run
        self.total = 0
        self._val_scores: dict[int, float] = {}
        self.trainer: Trainer | None = None  # set once built: its history is what the loss plot draws

    def on_progress(self, step, total, metrics):
        self.total = total
        self.ctx.progress(step, total, metrics={k: round(float(v), 5) for k, v in metrics.items()},
                          message=f"iteration {step}/{total}")

    def should_stop(self) -> bool:
        return self.ctx.cancel_requested()

    # The run's rows are written under the job's fence: an attempt the reaper gave up on cannot
    # change the rows of the attempt that replaced it (its files are fenced by atomic.fenced_writes).
    def on_checkpoint(self, path, step):
        with self.ctx.fence():
            Checkpoint.objects.update_or_create(run=self.run, step=step, defaults={"path": media_relative(path)})
        self._plot()

    def on_checkpoint_removed(self, path, step):
        with self.ctx.fence():
            Checkpoint.objects.filter(run=self.run, step=step).delete()

    def on_validation(self, step, score, improved):
        self.ctx.log(f"validation at iteration {step}: {score:.3f}" + (" (best so far)" if improved else ""))
        self.ctx.progress(step, self.total, metrics={"val_score": round(score, 4)}, force=True)
        self._val_scores[step] = score

    def on_samples(self, path, step):
        self.run.latest_samples = media_relative(path)
        with self.ctx.fence():
            self.run.save(update_fields=["latest_samples"])

    def _plot(self):
        # The trainer's own history, the very dict it has just saved in the checkpoint (reading the
        # checkpoint back would load every weight and optimiser state to plot a few hundred floats).
        out = media_path(self.run.run_dir) / "loss.png"
        atomic.write_bytes(out, plot_losses(self.trainer.history), sync=False)
        self.run.loss_plot = media_relative(out)
        with self.ctx.fence():
            self.run.save(update_fields=["loss_plot"])


def remove_stale_temporaries(run_dir) -> None:
    """Delete the temporary files an earlier attempt killed mid-write left (".<name>.<random>.tmp"
    beside checkpoints and sample grids). This attempt owns the run now; a given-up attempt still
    writing finds its file gone, and its rename would be refused by the fence anyway."""
    for folder in (run_dir / "checkpoints", run_dir / "samples", run_dir):
        if folder.is_dir():
            for stale in folder.glob(".*.tmp"):
                stale.unlink(missing_ok=True)


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
    index = class_index(dataset.class_names)
    labels = np.array([index[p.label] for p in pairs], dtype=np.int64)
    return PairedArrays(features, images, labels, list(dataset.class_names), sound_ids=[p.pk for p in pairs])


def run_training(ctx: JobContext, params: TrainParams) -> dict:
    run = TrainingRun.objects.select_related("dataset").get(pk=params.run_id)
    if not torch.cuda.is_available() and settings.TORCH_CPU_THREADS:
        torch.set_num_threads(settings.TORCH_CPU_THREADS)
    remove_stale_temporaries(media_path(run.run_dir))
    data = training_data(run, ctx)
    ctx.log(f"{len(data)} training pairs, {len(data.class_names)} classes, features {data.features.shape[1]}-d")
    train_cfg = TrainConfig.from_dict(run.train_config)
    validator = build_validator(run, ctx) if train_cfg.validate_every else None
    callbacks = _JobCallbacks(ctx, run)
    trainer = Trainer(ModelConfig.from_dict(run.model_config), run.variant, train_cfg, data,
                      run_dir=media_path(run.run_dir), callbacks=callbacks, validator=validator,
                      metadata={"run_id": run.pk, "dataset": run.dataset.name,
                                "feature_spec": run.feature_spec})
    callbacks.trainer = trainer
    if trainer.resumed_from:
        ctx.log(f"resuming from {trainer.resumed_from.name} (step {trainer.step})")
    try:
        with atomic.fenced_writes(ctx.fence):  # checkpoints land only while this attempt owns the job
            summary = trainer.train()
    except TrainingDiverged as exc:
        # Recorded on the run, so a suite reports the row as diverged instead of averaging it in.
        run.summary = {"status": RunStatus.DIVERGED.value, "step": trainer.step, "error": str(exc),
                       **trainer.validation_summary()}
        run.save(update_fields=["summary"])
        raise
    run.summary = summary
    run.save(update_fields=["summary"])
    for step, score in trainer.validation["history"]:
        Checkpoint.objects.filter(run=run, step=step).update(val_score=score)
    if summary["status"] == RunStatus.CANCELLED:
        ctx.log(f"stopped at iteration {summary['step']}; checkpoint kept")
        raise JobCancelled()
    result_step = summary.get("best_step") or summary["step"]   # validation's pick, else the last
    Checkpoint.objects.filter(run=run).exclude(step=result_step).update(is_final=False)
    Checkpoint.objects.filter(run=run, step=result_step).update(is_final=True)
    if train_cfg.validate_every:
        ctx.log(f"{summary['status']} at iteration {summary['step']}; validation picked iteration {result_step} "
                f"(score {summary['best_score']:.3f})")
    keys = ("step", "total", "elapsed_s", "images_per_s", "device", "status", "best_step", "best_score",
            "improving_at_end")
    return {k: summary[k] for k in keys if k in summary}
