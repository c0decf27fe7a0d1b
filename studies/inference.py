"""Small helpers shared by the Table 5 and Table 6 statistics (pure numpy/scipy/statsmodels)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .records import StatsInputError


def as_float(value) -> float | None:
    """numpy scalar -> float; NaN or infinity (undefined / degenerate) -> None so JSON stays valid."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def check_confidence(confidence: float, n_boot: int | None = None) -> None:
    if not 0.0 < confidence < 1.0:
        raise StatsInputError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if n_boot is not None and (isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100):
        raise StatsInputError(f"n_boot must be an integer of at least 100, got {n_boot!r}")


def cluster_bootstrap_ratio(numerators, denominators, n_boot, confidence, rng):
    """Percentile CI of sum(numerators)/sum(denominators) resampling raters (clusters).

    Each rater contributes one (numerator, denominator) pair, so resampling the pairs jointly
    (paired=True) resamples whole raters with all their votes. Percentile rather than BCa because
    it stays defined when every vote agrees, where BCa's acceleration is 0/0.
    """
    from scipy import stats as sps
    
    if len(numerators) < 2:
        return None, None
    result = sps.bootstrap(
        (np.asarray(numerators, float), np.asarray(denominators, float)),
        lambda num, den, axis: np.sum(num, axis=axis) / np.sum(den, axis=axis),
        paired=True, vectorized=True, n_resamples=n_boot, confidence_level=confidence,
        method="percentile", rng=rng,
    )
    return as_float(result.confidence_interval.low), as_float(result.confidence_interval.high)


def holm(p_values: Sequence[float | None], alpha: float):
    """Holm over the defined p-values; positions with None stay None."""
    defined = [i for i, p in enumerate(p_values) if p is not None]
    adjusted, reject = [None] * len(p_values), [None] * len(p_values)
    if defined:
        from statsmodels.stats.multitest import multipletests  # heavy: only when results are computed

        rej, corrected, _, _ = multipletests([p_values[i] for i in defined], alpha=alpha, method="holm")
        for slot, i in enumerate(defined):
            adjusted[i], reject[i] = float(corrected[slot]), bool(rej[slot])
    return adjusted, reject
