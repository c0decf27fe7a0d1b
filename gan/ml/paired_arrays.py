"""Paired (sound feature vector, image, class) arrays and the seeded class-balanced batch sampler.

The trainer sees only these arrays: feature extraction and image decoding happen upstream, once.
``features`` may be a read-only memory map (``np.load(..., mmap_mode='r')``); only batches are copied.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


def class_index(class_names: Sequence[str]) -> dict[str, int]:
    """Class name -> its integer label: its position in the dataset's class list (the one map from
    labels to the codes models, metrics and grids use)."""
    return {name: i for i, name in enumerate(class_names)}


class DatasetError(ValueError):
    """The paired arrays are unusable for training (shapes, dtypes, labels, too few classes)."""


@dataclass(frozen=True)
class PairedArrays:
    """features (N, D) float32, images (N, C, H, W) uint8, labels (N,) int64 in [0, len(class_names))."""

    features: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    class_names: Sequence[str]
    sound_ids: Sequence[Any] | None = field(default=None)   # provenance of each row (e.g. Pair ids)

    def __post_init__(self) -> None:
        f, im, lab = self.features, self.images, self.labels
        for name, arr in (("features", f), ("images", im), ("labels", lab)):
            if not isinstance(arr, np.ndarray):
                raise DatasetError(f"PairedArrays.{name} must be a numpy array; got {type(arr).__name__}")
        if f.ndim != 2 or f.dtype != np.float32:
            raise DatasetError(f"features must be a (N, D) float32 array; got shape {f.shape}, dtype {f.dtype}")
        if im.ndim != 4 or im.dtype != np.uint8 or im.shape[1] not in (1, 3) or im.shape[2] != im.shape[3]:
            raise DatasetError("images must be a (N, C, H, H) uint8 array with C = 1 or 3; "
                               f"got shape {im.shape}, dtype {im.dtype}")
        if lab.ndim != 1 or lab.dtype != np.int64:
            raise DatasetError(f"labels must be a (N,) int64 array; got shape {lab.shape}, dtype {lab.dtype}")
        if not (len(f) == len(im) == len(lab)):
            raise DatasetError(f"features, images and labels disagree on N: {len(f)}, {len(im)}, {len(lab)}")
        if len(f) == 0:
            raise DatasetError("the dataset is empty")
        if self.sound_ids is not None and len(self.sound_ids) != len(f):
            raise DatasetError(f"sound_ids has {len(self.sound_ids)} entries for {len(f)} pairs")
        k = len(self.class_names)
        if lab.min() < 0 or lab.max() >= k:
            raise DatasetError(f"labels must lie in [0, {k}) for {k} class names; "
                               f"got values from {lab.min()} to {lab.max()}")
        present = np.unique(lab)
        if len(present) < 2:
            only = self.class_names[int(present[0])]
            raise DatasetError(f"the dataset has pairs of only one class ({only!r}); a conditional GAN needs "
                               "at least 2 classes (class-balanced batches, mismatched sounds, the classifier)")
        if not np.isfinite(np.asarray(f[: min(len(f), 100_000)])).all():
            raise DatasetError("features contain NaN or infinite values")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def classes_present(self) -> np.ndarray:
        return np.unique(self.labels)


def check_fits(data: PairedArrays, model_cfg) -> None:
    """DatasetError naming every way the arrays disagree with a model config (a ModelConfig: its
    sound_dim, channels, image_size and num_classes)."""
    m, d = model_cfg, data
    problems = []
    if d.features.shape[1] != m.sound_dim:
        problems.append(f"features have {d.features.shape[1]} dims but model sound_dim is {m.sound_dim}")
    if d.images.shape[1:] != (m.channels, m.image_size, m.image_size):
        problems.append(f"images are {d.images.shape[1:]} but the model makes "
                        f"{(m.channels, m.image_size, m.image_size)}")
    if len(d.class_names) != m.num_classes:
        problems.append(f"the data has {len(d.class_names)} classes but model num_classes is {m.num_classes}")
    if problems:
        raise DatasetError("data and model config disagree: " + "; ".join(problems))


class ClassBalancedSampler:
    """Seeded batches drawn class-balanced: a class uniformly among those present, then a pair of it.

    All randomness of data selection (batches, mismatched sounds, flips) comes from one numpy
    Generator whose state is saved in checkpoints, so a resumed run draws exactly what a straight run would.
    """

    def __init__(self, labels: np.ndarray, seed: int):
        labels = np.asarray(labels)
        self.classes = np.unique(labels)
        if len(self.classes) < 2:
            raise DatasetError("class-balanced sampling needs at least 2 classes")
        order = np.argsort(labels, kind="stable")
        counts = np.array([(labels == c).sum() for c in self.classes])
        self._order = order
        self._starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._counts = counts
        self._position_of_label = np.full(int(self.classes.max()) + 1, -1, dtype=np.int64)
        self._position_of_label[self.classes] = np.arange(len(self.classes))
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def _pick_from(self, class_positions: np.ndarray) -> np.ndarray:
        within = self.rng.integers(0, self._counts[class_positions])
        return self._order[self._starts[class_positions] + within]

    def sample(self, batch_size: int) -> np.ndarray:
        """Row indices of one batch."""
        return self._pick_from(self.rng.integers(0, len(self.classes), size=batch_size))

    def mismatched(self, labels: np.ndarray) -> np.ndarray:
        """For each label, the row index of a pair of a different class (uniform over the others)."""
        k = len(self.classes)
        positions = self._position_of_label[np.asarray(labels)]
        other = (positions + self.rng.integers(1, k, size=len(positions))) % k
        return self._pick_from(other)

    def coin(self, n: int) -> np.ndarray:
        """n fair coin flips (e.g. which real images to mirror)."""
        return self.rng.random(n) < 0.5

    def state_dict(self) -> dict:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


def fixed_sample_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Up to ``per_class`` rows of every present class, chosen once by seed, for sample grids."""
    rng = np.random.Generator(np.random.PCG64(seed + 7919))   # apart from the training stream
    picks = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        picks.append(np.sort(rng.choice(rows, size=min(per_class, len(rows)), replace=False)))
    return np.concatenate(picks)


def decode_images(paths: Sequence[str], size: int, channels: int, workers: int = 2) -> np.ndarray:
    """Decode image files into a (N, channels, size, size) uint8 array, resized and converted once.

    Training reads batches from this array, so every file is decoded once per run, not once per
    epoch. Pillow releases the GIL while decoding, so a small thread pool overlaps file reads. The
    decoder is media.read_image (pixel cap, cut-outs on white), as for every other loader.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .media import MediaError, read_image

    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 or 3; got {channels!r}")

    def load(path: str) -> np.ndarray:
        try:
            return read_image(path, channels=channels, size=size, channels_first=True)
        except (MediaError, OSError) as exc:
            raise DatasetError(f"cannot decode image {path}: {exc}") from exc

    out = np.empty((len(paths), channels, size, size), dtype=np.uint8)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for i, array in enumerate(pool.map(load, paths)):
            out[i] = array
    return out
