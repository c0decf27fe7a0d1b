"""Upper bounds on the work a researcher can ask for, checked before any job is made.

The dataclasses in gan/ml check what a setting means (a width is a positive integer); they cannot
know what this installation can afford, and gan/ml reads no Django settings. The launch services
(training, generation, the suite) call these checks, so a width of a million, a checkpoint every
iteration kept forever, or ten thousand seeds is refused with one line naming the limit and the
setting that raises it, instead of filling the disk or the memory of a worker.

Every limit is a setting (evalsite/settings.py, GAN_LIMITS) an operator can raise. So are the
limits on decoding one imported file (IMPORT_*, decode_limits()).
"""
from __future__ import annotations

import math

from django.conf import settings

from jobs.errors import JobError

from ..ml.audio import DecodeLimits
from ..ml.variants import ModelConfig, TrainConfig


class LimitExceeded(JobError):
    """A request beyond one of the installation's limits."""


def limit(name: str) -> float:
    return settings.GAN_LIMITS[name]


def check(what: str, value: float, name: str) -> None:
    """Refuse `value` above the limit `name` (a key of GAN_LIMITS, settable as GAN_<NAME>)."""
    ceiling = limit(name)
    if value > ceiling:
        raise LimitExceeded(f"{what} is {value:g}, above this installation's limit of {ceiling:g} "
                            f"(setting GAN_{name.upper()}; an operator can raise it)")


def check_model(cfg: ModelConfig) -> None:
    check("model g_width", cfg.g_width, "max_width")
    check("model d_width", cfg.d_width, "max_width")
    check("model embed_dim", cfg.embed_dim, "max_embed_dim")
    check("model z_dim", cfg.z_dim, "max_z_dim")


def check_training(model: ModelConfig, train: TrainConfig, dataset_size: int) -> None:
    """Widths, batch, schedule, and what the schedule writes to disk (checkpoints kept, sample
    grids) for a run on `dataset_size` training pairs."""
    check_model(model)
    check("train batch_size", train.batch_size, "max_batch_size")
    check("train d_steps", train.d_steps, "max_steps_per_iteration")
    check("train g_steps", train.g_steps, "max_steps_per_iteration")
    if train.epochs is not None:
        check("train epochs", train.epochs, "max_epochs")
    total = train.total_iterations(max(1, dataset_size))
    check("training iterations" + (f" ({train.epochs:g} epochs of {dataset_size} pairs)"
                                   if train.epochs is not None else ""), total, "max_iterations")
    check("train samples_per_class", train.samples_per_class, "max_samples_per_class")
    check("train log_every", train.log_every, "max_log_every")
    # A checkpoint is written every checkpoint_every iterations and at every validation.
    every = min(train.checkpoint_every, train.validate_every or train.checkpoint_every)
    written = math.ceil(total / every)
    kept = written if train.keep_checkpoints == "all" else 2
    check(f"checkpoints kept ({written} written with checkpoint_every={train.checkpoint_every}"
          + (f", validate_every={train.validate_every}" if train.validate_every else "")
          + f", keep_checkpoints={train.keep_checkpoints!r})", kept, "max_checkpoints")
    if train.sample_every:
        check(f"sample grids (one every sample_every={train.sample_every} iterations)",
              math.ceil(total / train.sample_every), "max_sample_grids")
    if train.validate_every:
        check(f"validations (one every validate_every={train.validate_every} iterations)",
              math.ceil(total / train.validate_every), "max_validations")


def check_seeds(seeds, what: str = "seeds") -> None:
    check(f"the number of {what}", len(seeds), "max_seeds")
    if seeds:
        check(f"the largest of the {what}", max(seeds), "max_seed_value")


def check_generation(checkpoints: int, volumes, seeds, sounds: int) -> None:
    """A generation of `sounds` sounds x checkpoints x volumes x seeds images."""
    check("the number of checkpoints", checkpoints, "max_generate_checkpoints")
    check("the number of volumes", len(volumes), "max_volumes")
    check_seeds(seeds)
    check(f"the images to generate ({checkpoints} checkpoints x {len(volumes)} volumes x {len(seeds)} seeds "
          f"x {sounds} sounds)", checkpoints * len(volumes) * len(seeds) * sounds, "max_generated_images")


def decode_limits() -> DecodeLimits:
    """What decoding one imported file may cost, from the IMPORT_* settings."""
    return DecodeLimits(max_bytes=settings.IMPORT_MAX_BYTES, max_seconds=settings.IMPORT_MAX_SECONDS,
                        max_channels=settings.IMPORT_MAX_CHANNELS, max_sample_rate=settings.IMPORT_MAX_SAMPLE_RATE,
                        max_decode_seconds=settings.IMPORT_DECODE_TIMEOUT)
