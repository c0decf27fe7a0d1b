"""Atomic training checkpoints: G, D, optimisers, every RNG state, step, configs and loss history.

A checkpoint is written to a temporary file in the same directory, flushed to disk and then renamed
over the target (``os.replace`` is atomic on POSIX), so a crash mid-write leaves the previous file intact.
Files load with ``torch.load(weights_only=True)``: only tensors and plain containers, no pickled code.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from .atomic import write_with
from .architectures import build_generator
from .networks import Generator
from .variants import ModelConfig, TrainConfig, Variant, config_differences

FORMAT = "audio2scene-gan/1"
CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^step_(\d{8,})\.pt$")


class CheckpointError(ValueError):
    """The file is not a readable checkpoint of this project."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint belongs to another variant, model shape or training setup."""


def checkpoint_path(run_dir: str | os.PathLike, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:08d}.pt"


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    """The checkpoint with the highest step under ``run_dir/checkpoints``, or None."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return max(found)[1] if found else None


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the format tag) to ``path`` atomically; returns the path.

    Whatever goes wrong (disk full, a kill signal turned exception, a job fence refusing because
    the run was handed to another worker: atomic.fenced_writes) leaves no torn or temporary file."""
    return write_with(path, lambda handle: torch.save({"format": FORMAT, **payload}, handle))


def load_checkpoint(path: str | os.PathLike, expect_variant: Variant | str | None = None,
                    expect_model: ModelConfig | None = None, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint; with ``expect_*`` given, raise CheckpointMismatch naming every field that differs."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many kinds (pickle, zip, runtime) for a torn or foreign file
        raise CheckpointError(f"{path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint")
    problems = []
    if expect_variant is not None:
        want = expect_variant if isinstance(expect_variant, str) else expect_variant.name
        if state["variant"]["name"] != want:
            problems.append(f"variant: checkpoint has {state['variant']['name']!r}, expected {want!r}")
        elif isinstance(expect_variant, Variant):
            problems += [f"variant {d}" for d in config_differences(Variant.from_dict(state["variant"]),
                                                                     expect_variant)]
    if expect_model is not None:
        stored = ModelConfig.from_dict(state["model_config"])
        problems += [f"model {d} (checkpoint != expected)" for d in config_differences(stored, expect_model)]
    if problems:
        raise CheckpointMismatch(f"checkpoint {path} does not match: " + "; ".join(problems))
    return state


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Generator, dict]:
    """The generator of a checkpoint, in eval mode on ``device``, and its metadata
    (variant, model_config, class_names, step, path) for provenance."""
    state = load_checkpoint(path, map_location="cpu")
    model_cfg = ModelConfig.from_dict(state["model_config"])
    generator = build_generator(model_cfg, Variant.from_dict(state["variant"]))
    generator.load_state_dict(state["generator"])
    generator.to(device).eval()
    info = {"path": str(path), "step": state["step"], "variant": state["variant"]["name"],
            "model_config": state["model_config"], "class_names": list(state.get("class_names", [])),
            "feature_kind": state.get("metadata", {}).get("feature_kind")}
    return generator, info


def check_same_training(path: str | os.PathLike, state: dict, train_cfg: TrainConfig, class_names) -> None:
    """A run resumes from a checkpoint only if it was trained with these settings on these classes
    (in this order: a class index is a position); CheckpointMismatch naming what differs otherwise."""
    stored_train = TrainConfig.from_dict(state["train_config"])
    changed = stored_train.differences(train_cfg)
    if changed:
        raise CheckpointMismatch(f"checkpoint {path} was trained with other settings: "
                                 + ", ".join(f"{n}: {getattr(stored_train, n)!r} != {getattr(train_cfg, n)!r}"
                                             for n in changed))
    if list(state["class_names"]) != list(class_names):
        raise CheckpointMismatch(f"checkpoint {path} was trained on classes {state['class_names']}, "
                                 f"not {list(class_names)}")
