"""Scores over classifier outputs and features: Inception Score, FID, class consistency.

Pure numpy/scipy functions with no model inside them, so the same code scores any classifier's
probabilities (Inception-v3, EfficientNet-Lite0, a domain classifier) and any feature extractor.

Inception Score conventions (docs/background.md, "Inception Score conventions"):

* ``order='paper'``: the images are scored in the order given, cut into ``splits`` contiguous parts
  at ``i * N // splits`` -- exactly what OpenAI's improved-gan ``get_inception_score`` does and what
  the paper ran on its class-ordered test set. Each part then holds only one or two classes, which is
  why the paper's std is large.
* ``order='shuffled'``: the rows are first permuted with ``np.random.RandomState(seed).permutation(N)``,
  the same permutation torch-fidelity uses (its default seed is 2020), then split the same way.

The reported std is the population std over splits (``np.std``, ddof=0), as in OpenAI's code and
torch-fidelity. torchmetrics' ``InceptionScore`` reports the sample std (``torch.std``, ddof=1), cuts
with ``torch.chunk`` (ceil(N/splits) rows per part) and shuffles with an unseeded ``torch.randperm``;
:attr:`ISResult.std_sample` gives its std convention for comparison.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .intervals import mean_half_width

# scipy is imported inside the two functions that use it: importing scipy.linalg takes about half a
# second, and the web tier imports this module (for IS_ORDERS, through the launch checks).

IS_ORDERS = ("paper", "shuffled")
# Softmax outputs stored in float32 sum to 1 only to ~1e-6 per row; anything further off is not a
# probability distribution (e.g. logits or sigmoid outputs passed by mistake).
ROW_SUM_TOLERANCE = 1e-3


class MetricInputError(ValueError):
    """The data handed to a score cannot be scored (empty, too few rows, wrong shape or values)."""


class FIDNumericalError(MetricInputError):
    """The covariance square root came out with a large imaginary part: the FID is not trustworthy."""


@dataclass(frozen=True)
class ISResult:
    """An Inception Score with everything needed to say how it was computed."""

    mean: float
    std: float  # population std over splits (np.std, ddof=0), the paper's / OpenAI's convention
    per_split: tuple[float, ...]
    n: int
    splits: int
    order: str
    seed: int | None = None  # only meaningful for order='shuffled'

    @property
    def std_sample(self) -> float:
        """Sample std over splits (ddof=1), torchmetrics' convention; nan for a single split."""
        if self.splits < 2:
            return float("nan")
        return float(np.std(self.per_split, ddof=1))

    def as_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "std_sample": self.std_sample,
                "per_split": list(self.per_split), "n": self.n, "splits": self.splits,
                "order": self.order, "seed": self.seed}


def _as_probabilities(probs) -> np.ndarray:
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim != 2:
        raise MetricInputError(f"probabilities must be a 2-D array (images x classes), got shape {array.shape}")
    if array.shape[0] == 0:
        raise MetricInputError("no images to score: the probability array is empty")
    if array.shape[1] < 2:
        raise MetricInputError(f"probabilities need at least 2 classes, got {array.shape[1]}")
    if not np.isfinite(array).all():
        raise MetricInputError("probabilities contain NaN or infinite values")
    if (array < 0).any():
        raise MetricInputError("probabilities contain negative values; pass softmax outputs, not logits")
    sums = array.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > ROW_SUM_TOLERANCE:
        raise MetricInputError(
            f"row {worst} of the probabilities sums to {sums[worst]:.6g}, not 1: "
            "each row must be a distribution over classes (softmax output)"
        )
    return array


def split_bounds(n: int, splits: int) -> list[tuple[int, int]]:
    """Row ranges of the ``splits`` parts, cut at ``i * n // splits`` as OpenAI and torch-fidelity do."""
    return [(i * n // splits, (i + 1) * n // splits) for i in range(splits)]


def inception_score(probs, splits: int = 10, order: str = "paper", seed: int = 0) -> ISResult:
    """IS = exp(E_x KL(p(y|x) || p(y))) per split; mean and population std over the splits.

    ``probs`` is ``(N, K)``, one distribution per image, in the order the images should be split
    (for ``order='paper'``, the class-directory order the paper used).
    """
    if order not in IS_ORDERS:
        raise MetricInputError(f"order must be one of {IS_ORDERS}, got {order!r}")
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)) or splits < 1:
        raise MetricInputError(f"splits must be a positive integer, got {splits!r}")
    array = _as_probabilities(probs)
    n = array.shape[0]
    if n < splits:
        raise MetricInputError(f"{n} images cannot be cut into {splits} splits; give at least {splits} images or fewer splits")
    if order == "shuffled":
        array = array[np.random.RandomState(seed).permutation(n)]
    from scipy.special import rel_entr

    scores = []
    for start, stop in split_bounds(n, splits):
        part = array[start:stop]
        marginal = part.mean(axis=0, keepdims=True)
        # rel_entr gives p*log(p/q) with 0*log(0) = 0, so confident one-hot rows do not produce NaN
        kl_per_image = rel_entr(part, marginal).sum(axis=1)
        scores.append(float(np.exp(kl_per_image.mean())))
    return ISResult(mean=float(np.mean(scores)), std=float(np.std(scores)), per_split=tuple(scores),
                    n=n, splits=int(splits), order=order, seed=int(seed) if order == "shuffled" else None)


def _as_features(features, name: str) -> np.ndarray:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise MetricInputError(f"{name} must be a 2-D array (images x feature dims), got shape {array.shape}")
    if array.shape[0] < 2:
        raise MetricInputError(f"{name} has {array.shape[0]} rows; a covariance needs at least 2 images")
    if not np.isfinite(array).all():
        raise MetricInputError(f"{name} contains NaN or infinite values")
    return array


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    d² = |mu1 - mu2|² + tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2)), following the TTUR (TensorFlow)
    and pytorch-fid reference code: scipy's ``sqrtm``; when the product is singular enough that the
    root is not finite, ``eps`` is added to both diagonals; a complex result with a negligible
    imaginary diagonal (numerical noise) keeps its real part, a large one is an error.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    dim = mu1.shape[0]
    if mu1.shape != mu2.shape or mu1.ndim != 1:
        raise MetricInputError(f"mean vectors differ in shape: {mu1.shape} vs {mu2.shape}")
    if sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise MetricInputError(f"covariances must be {dim}x{dim}, got {sigma1.shape} and {sigma2.shape}")
    for name, value in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.isfinite(value).all():
            raise MetricInputError(f"{name} contains NaN or infinite values")

    from scipy.linalg import sqrtm

    diff = mu1 - mu2
    covmean = sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(dim) * eps
        covmean = sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        largest_imaginary = float(np.max(np.abs(np.diagonal(covmean).imag)))
        if largest_imaginary > 1e-3:
            raise FIDNumericalError(
                f"sqrt(sigma1 @ sigma2) has an imaginary diagonal component of {largest_imaginary:.3g}; "
                "the covariances are too ill-conditioned (use more images than feature dimensions)"
            )
        covmean = covmean.real
    distance = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    # tiny negative values are rounding on identical sets; a distance cannot be below zero
    return max(distance, 0.0)


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased, ddof=1) covariance of ``(N, D)`` features, as every FID implementation uses."""
    array = _as_features(features, "features")
    return array.mean(axis=0), np.cov(array, rowvar=False)


def fid_from_features(feats_a, feats_b) -> float:
    """FID between two sets of features ``(N_a, D)`` and ``(N_b, D)``.

    With fewer images than feature dimensions (the usual case here: a few hundred test images,
    2048-d features) the covariances are rank-deficient and a D x D ``sqrtm`` is both slow (tens of
    seconds at D = 2048 on two cores) and numerically fragile. No library offers the exact shortcut,
    so it is written here: with centred, scaled features A = (X_a - mu_a) / sqrt(N_a - 1) and likewise
    B, sigma_a = AᵀA and sigma_b = BᵀB, and the non-zero eigenvalues of sigma_a sigma_b equal those of
    (A Bᵀ)(A Bᵀ)ᵀ, so tr sqrt(sigma_a sigma_b) is the sum of the singular values of the small
    N_a x N_b matrix A Bᵀ. Otherwise the standard :func:`frechet_distance` is used.
    """
    a = _as_features(feats_a, "feats_a")
    b = _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise MetricInputError(f"feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    dim = a.shape[1]
    if a.shape[0] * b.shape[0] * min(a.shape[0], b.shape[0]) >= dim ** 3:
        mu_a, sigma_a = feature_statistics(a)
        mu_b, sigma_b = feature_statistics(b)
        return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    scaled_a = (a - mu_a) / np.sqrt(a.shape[0] - 1)
    scaled_b = (b - mu_b) / np.sqrt(b.shape[0] - 1)
    trace_sqrt = np.linalg.svd(scaled_a @ scaled_b.T, compute_uv=False).sum()
    diff = mu_a - mu_b
    distance = float(diff @ diff + np.sum(scaled_a ** 2) + np.sum(scaled_b ** 2) - 2.0 * trace_sqrt)
    return max(distance, 0.0)


@dataclass(frozen=True)
class ClassConsistency:
    """Share of images a classifier assigns to the class of the sound they came from."""

    overall: float
    n: int
    per_class: dict[str, float] = field(default_factory=dict)  # only classes with at least one image
    per_class_n: dict[str, int] = field(default_factory=dict)  # every class, 0 when absent

    def as_dict(self) -> dict:
        return {"overall": self.overall, "n": self.n, "per_class": dict(self.per_class),
                "per_class_n": dict(self.per_class_n)}


def class_consistency(pred_labels, true_labels, class_names: Sequence[str]) -> ClassConsistency:
    """Per-class and overall share of ``pred_labels == true_labels``; labels index ``class_names``.

    Predictions outside the dataset's classes (e.g. an ImageNet class the class map does not cover)
    should be passed as -1: they count as wrong.
    """
    names = list(class_names)
    if not names:
        raise MetricInputError("class_names is empty")
    predicted = np.asarray(pred_labels)
    truth = np.asarray(true_labels)
    if predicted.ndim != 1 or truth.ndim != 1:
        raise MetricInputError(f"labels must be 1-D, got shapes {predicted.shape} and {truth.shape}")
    if predicted.shape != truth.shape:
        raise MetricInputError(f"{predicted.shape[0]} predictions for {truth.shape[0]} true labels")
    if truth.size == 0:
        raise MetricInputError("no images to score: the label arrays are empty")
    for label_name, labels in (("pred_labels", predicted), ("true_labels", truth)):
        if not np.issubdtype(labels.dtype, np.integer):
            raise MetricInputError(f"{label_name} must be integer class indices, got dtype {labels.dtype}")
    if truth.min() < 0 or truth.max() >= len(names):
        raise MetricInputError(f"true_labels must lie in 0..{len(names) - 1}")
    if predicted.min() < -1 or predicted.max() >= len(names):
        raise MetricInputError(f"pred_labels must lie in -1..{len(names) - 1} (-1 = none of the classes)")

    correct = predicted == truth
    per_class, per_class_n = {}, {}
    for index, name in enumerate(names):
        members = truth == index
        per_class_n[name] = int(members.sum())
        if per_class_n[name]:
            per_class[name] = float(correct[members].mean())
    return ClassConsistency(overall=float(correct.mean()), n=int(truth.size), per_class=per_class,
                            per_class_n=per_class_n)


def class_predictions(probs, output_to_class, num_classes: int, closed_set: bool = False) -> np.ndarray:
    """The dataset class each image is predicted to show, from a classifier's probabilities.

    ``output_to_class`` gives, for each classifier output, the dataset class it stands for (-1 =
    none). Open set (the default): the classifier's top-1 output decides, and an output outside the
    dataset's classes counts as no class (-1). Closed set: each dataset class gets the summed
    probability of its outputs and the most probable dataset class wins, the way the paper's human
    raters chose among the dataset's classes; it asks "which of these classes does it look like?",
    not "is this the single most likely of 1,000 ImageNet things?".
    """
    array = _as_probabilities(probs)
    mapping = np.asarray(output_to_class, dtype=np.int64)
    if mapping.shape != (array.shape[1],):
        raise MetricInputError(f"output_to_class has {mapping.shape} entries for {array.shape[1]} outputs")
    if not closed_set:
        return mapping[array.argmax(axis=1)]
    per_class = np.zeros((array.shape[0], num_classes))
    for index in range(num_classes):
        members = mapping == index
        if not members.any():
            raise MetricInputError(f"dataset class {index} has no classifier output in the class map")
        per_class[:, index] = array[:, members].sum(axis=1)
    return per_class.argmax(axis=1)


def within_class_diversity(features, labels) -> dict:
    """Mean pairwise Euclidean distance between the features of images of the same class.

    A generator that ignores z makes one image per sound and its images of a class sit close
    together; compared with the same figure on real images, this makes mode collapse visible.
    Returns {"value": mean over classes, "per_class": {class index: value}, "n": images used};
    classes with fewer than 2 images are skipped.
    """
    from scipy.spatial.distance import pdist

    array = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if array.ndim != 2 or len(array) != len(labels):
        raise MetricInputError(f"features {array.shape} and labels {labels.shape} do not match")
    per_class = {}
    for label in np.unique(labels):
        members = array[labels == label]
        if len(members) < 2:
            continue
        distances = pdist(members)
        per_class[int(label)] = float(distances.mean())
    if not per_class:
        raise MetricInputError("no class has 2 or more images: diversity is undefined")
    return {"value": float(np.mean(list(per_class.values()))), "per_class": per_class,
            "n": int(sum((labels == k).sum() for k in per_class))}


def volume_change(images: dict[float, np.ndarray], reference: float = 1.0) -> dict:
    """How much the image of each sound changes when the sound is played louder or softer.

    ``images`` maps a volume factor to the (N, H, W, C) uint8 images of the same N sounds (same
    order, same z). The change is the mean absolute pixel difference (0..1) from the image at
    ``reference`` volume. Returns the mean change per volume with a 95% t-interval over sounds and
    Spearman's rho between |log volume| and the per-sound change (the paper's Table 3 claim: the
    image changes more as the volume moves further from the original).
    """
    from scipy import stats

    if reference not in images:
        raise MetricInputError(f"no images at the reference volume {reference:g}")
    base = np.asarray(images[reference], dtype=np.float64) / 255.0
    per_volume, xs, ys = {}, [], []
    for volume in sorted(images):
        other = np.asarray(images[volume], dtype=np.float64) / 255.0
        if other.shape != base.shape:
            raise MetricInputError(f"volume {volume:g} has images of shape {other.shape}, reference {base.shape}")
        change = np.abs(other - base).reshape(len(base), -1).mean(axis=1)
        n = len(change)
        half = mean_half_width(change)
        per_volume[float(volume)] = {"mean": float(change.mean()), "ci": [float(change.mean()) - half,
                                                                          float(change.mean()) + half], "n": n}
        if volume != reference:
            xs += [abs(np.log(volume / reference))] * n
            ys += change.tolist()
    rho = float(stats.spearmanr(xs, ys).statistic) if len(set(xs)) > 1 else float("nan")
    return {"per_volume": per_volume, "spearman_rho": rho, "n_sounds": int(len(base))}
