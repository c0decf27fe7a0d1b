"""Small helpers shared by the Table 5 and Table 6 statistics (pure numpy/scipy/statsmodels)."""
from __future__ import annotations

import math
from collections.abc import Sequence

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
    resamples whole raters with all their votes (gan.ml.intervals.bootstrap_ratio_interval). None
    for a bound that is undefined, or both with fewer than two raters, so JSON stays valid.
    """
    from gan.ml.intervals import bootstrap_ratio_interval

    if len(numerators) < 2:
        return None, None
    low, high = bootstrap_ratio_interval(numerators, denominators, n_boot, confidence, rng)
    return as_float(low), as_float(high)


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
