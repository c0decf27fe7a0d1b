"""Experiment configuration: the Table 4 ablation rows as named presets, plus model and training configs.

Every configuration is a frozen dataclass with ``to_dict``/``from_dict`` so it can be stored in a
Job's params (JSON) and inside checkpoints, and compared field by field when a run is resumed.
Pure Python: no torch, no Django.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

LOSSES = ("wgan-gp", "gan-cls", "hinge")
HEADS = ("concat", "projection")
D_NORMS = ("batch", "none")
AUTO_FLAGS = ("auto", "on", "off")
KEEP_CHECKPOINTS = ("all", "best-and-last")
GENERATORS = ("paper", "upsample-cbn")
DISCRIMINATORS = ("paper", "projected")
AUGMENTATIONS = ("color", "translation", "cutout")     # gan/ml/diffaugment.py
FEATURE_NETWORKS = ("efficientnet-lite1",)            # the projected D's frozen network (never a judge)


class ConfigError(ValueError):
    """A configuration value is out of range or of the wrong kind (the caller's fault)."""


def _check_choice(owner: str, name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{owner}.{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def _check_int(owner: str, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{owner}.{name} must be an integer >= {minimum}; got {value!r}")


def _check_positive_number(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{owner}.{name} must be a finite number > 0; got {value!r}")


class _Serialisable:
    """to_dict/from_dict shared by the config dataclasses; from_dict rejects unknown keys by name."""

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.__name__}.from_dict expects a mapping; got {type(data).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"{cls.__name__} has no field(s) {', '.join(unknown)}; "
                              f"valid fields: {', '.join(known)}")
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
        return cls(**values)


@dataclass(frozen=True)
class Variant(_Serialisable):
    """One row of the paper's Table 4: which loss, discriminator head and regularisers are used."""

    name: str
    title: str
    loss: str                      # 'wgan-gp' | 'gan-cls' | 'hinge'
    spectral_norm: bool            # spectral normalisation on every D conv/linear layer
    head: str                      # 'concat' (Reed et al.: sound embedding tiled over the 4x4 map) | 'projection'
    aux_classifier: bool           # linear(phi -> classes), CE on real (D) and on fake (G)
    use_mismatched: bool           # matching-aware D: (real image, sound of another class) counts as fake
    d_norm: str = "none"           # BatchNorm in D ('batch', as in Reed et al.'s D) or none
    gp_lambda: float = 20.0        # gradient-penalty weight (the authors' WGAN-GP code used 20)
    aux_weight: float = 1.0        # weight of the auxiliary CE terms
    # Beyond the paper (row h and its ablations); the defaults are the paper's rows.
    generator: str = "paper"       # 'paper' (transposed convs) | 'upsample-cbn' (conditional_generator.py)
    discriminator: str = "paper"   # 'paper' (networks.py) | 'projected' (projected_discriminator.py)
    augment: tuple[str, ...] = ()  # DiffAugment policies on real and fake in every D call
    ema_decay: float = 0.0         # > 0: images come from an exponential moving average of G (ema.py)
    sound_noise: float = 0.0       # Gaussian noise on training sounds, in units of each dimension's spread
    feature_network: str = "efficientnet-lite1"
    feature_input_size: int = 64   # the projected D's view of an image (Sauer et al. used 224; CPU budget)
    # Adam's betas for this row, overriding the schedule's (None = TrainConfig.betas, the paper's
    # (0.5, 0.999)). Row h trains with Sauer et al.'s (0, 0.99): part of the recipe, like its loss.
    adam_betas: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        owner = f"Variant {self.name!r}"
        _check_choice(owner, "loss", self.loss, LOSSES)
        _check_choice(owner, "head", self.head, HEADS)
        _check_choice(owner, "d_norm", self.d_norm, D_NORMS)
        _check_positive_number(owner, "gp_lambda", self.gp_lambda)
        _check_positive_number(owner, "aux_weight", self.aux_weight)
        _check_choice(owner, "generator", self.generator, GENERATORS)
        _check_choice(owner, "discriminator", self.discriminator, DISCRIMINATORS)
        if not isinstance(self.augment, tuple) or any(a not in AUGMENTATIONS for a in self.augment):
            raise ConfigError(f"{owner}.augment must be a list drawn from {', '.join(AUGMENTATIONS)}; "
                              f"got {self.augment!r}")
        for name in ("ema_decay", "sound_noise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0 or (name == "ema_decay" and value >= 1):
                raise ConfigError(f"{owner}.{name} must be a number in [0, {'1)' if name == 'ema_decay' else 'inf)'}; "
                                  f"got {value!r}")
        _check_choice(owner, "feature_network", self.feature_network, FEATURE_NETWORKS)
        if self.adam_betas is not None and (not isinstance(self.adam_betas, tuple) or len(self.adam_betas) != 2 or not all(
                isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in self.adam_betas)):
            raise ConfigError(f"{owner}.adam_betas must be two numbers in [0, 1) or null; got {self.adam_betas!r}")
        _check_choice(owner, "feature_input_size", self.feature_input_size, (64, 96, 128, 160, 224))
        if self.discriminator == "projected" and (self.loss != "hinge" or self.aux_classifier or self.use_mismatched):
            # Its heads are projection heads scored by the hinge loss (Sauer et al.); GAN-CLS's mismatched
            # pairs and the auxiliary classifier belong to the paper's D.
            raise ConfigError(f"{owner}: the projected discriminator needs loss 'hinge', no auxiliary "
                              "classifier and no mismatched pairs")
        if self.loss == "wgan-gp" and self.d_norm == "batch":
            # The gradient penalty is defined per sample; batch statistics couple samples and void it.
            raise ConfigError(f"{owner}: WGAN-GP's critic cannot use BatchNorm (d_norm must be 'none')")


# Rows b-g of Table 4. Each row adds one technique to the previous one, as in the paper.
# (b) and (c) use Reed et al.'s text-to-image architecture with the sound in place of the text.
# (e) keeps GAN-CLS's mismatched pairs and swaps the sigmoid CE for the hinge form; from (f) on the
# projection head measures sound-image match itself and the loss is the paper's Eq. (2) exactly.
# Rows c-e keep Reed's BatchNorm in D; the authors' code even kept it on top of SN, here the SN rows
# use SN alone, as Miyato et al. do (BatchNorm after SN undoes the Lipschitz bound).
VARIANTS: dict[str, Variant] = {
    v.name: v for v in (
        Variant("b", "(b) Improved WGAN", loss="wgan-gp", spectral_norm=False, head="concat",
                aux_classifier=False, use_mismatched=True, d_norm="none"),
        Variant("c", "(c) Conditional GAN (GAN-CLS)", loss="gan-cls", spectral_norm=False, head="concat",
                aux_classifier=False, use_mismatched=True, d_norm="batch"),
        Variant("d", "(d) + Spectral Norm", loss="gan-cls", spectral_norm=True, head="concat",
                aux_classifier=False, use_mismatched=True, d_norm="none"),
        Variant("e", "(e) + Hinge Loss", loss="hinge", spectral_norm=True, head="concat",
                aux_classifier=False, use_mismatched=True, d_norm="none"),
        Variant("f", "(f) + Projection Discriminator", loss="hinge", spectral_norm=True, head="projection",
                aux_classifier=False, use_mismatched=False, d_norm="none"),
        Variant("g", "(g) + Auxiliary Classifier", loss="hinge", spectral_norm=True, head="projection",
                aux_classifier=True, use_mismatched=False, d_norm="none"),
    )
}

# Row h, beyond the paper: a data-efficient recipe for a few hundred pairs on 2 CPU cores, chosen by
# bench/recipes.py (docs/results/recipes.md). Each "h-X" row is h without part X, so the tables say
# what each part buys. Names fit TrainingRun.variant (8 characters).
_ROW_H = dict(loss="hinge", spectral_norm=True, head="projection", aux_classifier=False, use_mismatched=False,
              d_norm="none", generator="upsample-cbn", discriminator="projected", augment=("translation", "cutout"),
              ema_decay=0.999, sound_noise=0.5, adam_betas=(0.0, 0.99))
_H_ABLATIONS = {
    "h-proj": ("without the projected D (the paper's D, row f's head)", dict(discriminator="paper")),
    "h-cbn": ("without the upsample + CBN generator (the paper's G)", dict(generator="paper")),
    "h-aug": ("without DiffAugment", dict(augment=())),
    "h-ema": ("without the weight average", dict(ema_decay=0.0)),
    "h-noise": ("without sound noise", dict(sound_noise=0.0)),
}
VARIANTS["h"] = Variant("h", "(h) Data-efficient (beyond the paper)", **_ROW_H)
for _name, (_what, _change) in _H_ABLATIONS.items():
    VARIANTS[_name] = Variant(_name, f"(h) {_what}", **{**_ROW_H, **_change})
PAPER_VARIANTS = ("b", "c", "d", "e", "f", "g")
DEFAULT_VARIANT = "g"


def get_variant(name: str) -> Variant:
    """The preset for a Table 4 row ('b'..'g'); an unknown name raises ValueError listing the valid ones."""
    key = name.strip().lower() if isinstance(name, str) else name
    if isinstance(key, str) and key.startswith("(") and key.endswith(")"):
        key = key[1:-1]
    if key not in VARIANTS:
        raise ConfigError(f"unknown variant {name!r}; valid variants: "
                          + ", ".join(f"{k} = {v.title}" for k, v in VARIANTS.items()))
    return VARIANTS[key]


@dataclass(frozen=True)
class ModelConfig(_Serialisable):
    """Shapes and widths of G and D. The authors used g_width = d_width = 200 at 64x64 RGB."""

    sound_dim: int
    num_classes: int
    z_dim: int = 10                # 0 = the released code (G deterministic given the sound)
    image_size: int = 64           # 64 (the paper) or 32 (small data)
    channels: int = 3              # 3 = RGB, 1 = grayscale
    g_width: int = 32
    d_width: int = 32
    embed_dim: int = 128           # size of the image embedding phi and of D's sound projection

    def __post_init__(self) -> None:
        _check_int("ModelConfig", "sound_dim", self.sound_dim, 1)
        _check_int("ModelConfig", "num_classes", self.num_classes, 2)
        _check_int("ModelConfig", "z_dim", self.z_dim, 0)
        _check_choice("ModelConfig", "image_size", self.image_size, (32, 64))
        _check_choice("ModelConfig", "channels", self.channels, (1, 3))
        _check_int("ModelConfig", "g_width", self.g_width, 1)
        _check_int("ModelConfig", "d_width", self.d_width, 1)
        _check_int("ModelConfig", "embed_dim", self.embed_dim, 1)


@dataclass(frozen=True)
class TrainConfig(_Serialisable):
    """The training schedule. Give ``iterations`` or ``epochs`` (an epoch = dataset size / batch iterations)."""

    iterations: int | None = None
    epochs: float | None = None
    batch_size: int = 32
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    # D's own learning rate (None = lr, the paper's single 2e-4). A faster D than G (the two
    # time-scale rule of Heusel et al., e.g. 4e-4 / 1e-4) keeps a spectrally normalised D ahead of G
    # when there are few D steps.
    d_lr: float | None = None
    d_steps: int = 1               # D updates per iteration
    g_steps: int = 5               # G updates per iteration, each on a fresh batch (the paper's 5:1)
    seed: int = 0
    checkpoint_every: int = 1000   # iterations; a checkpoint is also written at the end and on cancel
    sample_every: int = 1000       # iterations between sample-grid PNGs (0 = only at the end)
    samples_per_class: int = 4
    log_every: int = 10            # iterations between on_progress / should_stop calls
    hflip: bool = True             # random horizontal flip of real images (the authors' code)
    amp: str = "auto"              # bf16 autocast: 'auto' = on CUDA only
    channels_last: str = "auto"    # NHWC memory format: 'auto' = on CUDA only
    # Model selection on validation data (0 = off: the last checkpoint is the result). Every
    # `validate_every` iterations the caller's validator scores G (e.g. class consistency on sounds
    # from the training sources, never the test split); the best-scoring checkpoint is the result.
    validate_every: int = 0
    patience: int = 0              # stop after this many validations without improvement (0 = never)
    min_delta: float = 0.0         # an improvement must beat the best score by more than this
    keep_checkpoints: str = "all"  # 'all' | 'best-and-last' (delete the others as training goes)

    # Fields that may change between a run and its resumption without breaking exact continuation.
    RESUMABLE_CHANGES = ("iterations", "epochs", "checkpoint_every", "sample_every", "samples_per_class",
                         "log_every", "patience", "keep_checkpoints")

    def __post_init__(self) -> None:
        if (self.iterations is None) == (self.epochs is None):
            raise ConfigError("TrainConfig needs exactly one of iterations or epochs; "
                              f"got iterations={self.iterations!r}, epochs={self.epochs!r}")
        if self.iterations is not None:
            _check_int("TrainConfig", "iterations", self.iterations, 1)
        else:
            _check_positive_number("TrainConfig", "epochs", self.epochs)
        _check_int("TrainConfig", "batch_size", self.batch_size, 1)
        _check_positive_number("TrainConfig", "lr", self.lr)
        if self.d_lr is not None:
            _check_positive_number("TrainConfig", "d_lr", self.d_lr)
        if (not isinstance(self.betas, tuple) or len(self.betas) != 2
                or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas)):
            raise ConfigError(f"TrainConfig.betas must be two numbers in [0, 1); got {self.betas!r}")
        _check_int("TrainConfig", "d_steps", self.d_steps, 1)
        _check_int("TrainConfig", "g_steps", self.g_steps, 1)
        _check_int("TrainConfig", "seed", self.seed, 0)
        _check_int("TrainConfig", "checkpoint_every", self.checkpoint_every, 1)
        _check_int("TrainConfig", "sample_every", self.sample_every, 0)
        _check_int("TrainConfig", "samples_per_class", self.samples_per_class, 1)
        _check_int("TrainConfig", "log_every", self.log_every, 1)
        if not isinstance(self.hflip, bool):
            raise ConfigError(f"TrainConfig.hflip must be true or false; got {self.hflip!r}")
        _check_choice("TrainConfig", "amp", self.amp, AUTO_FLAGS)
        _check_choice("TrainConfig", "channels_last", self.channels_last, AUTO_FLAGS)
        _check_int("TrainConfig", "validate_every", self.validate_every, 0)
        _check_int("TrainConfig", "patience", self.patience, 0)
        if isinstance(self.min_delta, bool) or not isinstance(self.min_delta, (int, float)) \
                or not math.isfinite(self.min_delta) or self.min_delta < 0:
            raise ConfigError(f"TrainConfig.min_delta must be a finite number >= 0; got {self.min_delta!r}")
        _check_choice("TrainConfig", "keep_checkpoints", self.keep_checkpoints, KEEP_CHECKPOINTS)
        if self.patience and not self.validate_every:
            raise ConfigError("TrainConfig.patience needs validate_every > 0 (early stopping watches validation)")

    def total_iterations(self, dataset_size: int) -> int:
        """Iterations to run: ``iterations`` or ceil(epochs * dataset_size / batch_size)."""
        if self.iterations is not None:
            return self.iterations
        return max(1, math.ceil(self.epochs * dataset_size / self.batch_size))

    def differences(self, other: "TrainConfig") -> list[str]:
        """Names of fields that differ from ``other`` and would change the training trajectory."""
        return [f.name for f in dataclasses.fields(self)
                if f.name not in self.RESUMABLE_CHANGES and getattr(self, f.name) != getattr(other, f.name)]


def config_differences(a: Any, b: Any) -> list[str]:
    """'field: a != b' for every dataclass field where two configs of the same type differ."""
    return [f"{f.name}: {getattr(a, f.name)!r} != {getattr(b, f.name)!r}"
            for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)]


__all__ = ["Variant", "VARIANTS", "PAPER_VARIANTS", "DEFAULT_VARIANT", "get_variant", "ModelConfig", "TrainConfig",
           "ConfigError", "config_differences"]
