"""Confidence intervals, one definition each, for every figure gan and studies report.

- `wilson_interval`: a proportion (class consistency, a probe's accuracy, a Table 6 share), answers
  treated as independent (statsmodels' Wilson score interval).
- `mean_interval`: a mean with its Student-t interval (across seeds, across sounds).
- `difference_interval`: the difference of two means, Welch's t (unequal variances).
- `bootstrap_ratio_interval`: sum(numerators) / sum(denominators) resampling clusters (raters)
  with their pairs together, percentile method (scipy).

scipy and statsmodels are imported inside the functions: web start-up does not load them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _t_quantile(confidence: float, dof: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, dof))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of successes / n; (nan, nan) when n is 0."""
    if n == 0:
        return (float("nan"), float("nan"))
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, n, alpha=1.0 - confidence, method="wilson")
    return float(low), float(high)


def mean_half_width(values: Sequence[float], confidence: float = 0.95) -> float:
    """Half the width of the t-interval of the mean of `values`; nan with fewer than two."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n < 2:
        return float("nan")
    return _t_quantile(confidence, n - 1) * float(values.std(ddof=1)) / math.sqrt(n)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, tuple[float, float] | None]:
    """Mean and its t-interval (None with fewer than two values)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = _t_quantile(confidence, n - 1) * sd / math.sqrt(n)
    return mean, (mean - half, mean + half)


def difference_interval(a: Sequence[float], b: Sequence[float],
                        confidence: float = 0.95) -> tuple[float, tuple[float, float] | None]:
    """mean(a) - mean(b) and its Welch t-interval (None unless both have two values or more)."""
    diff = sum(a) / len(a) - sum(b) / len(b)
    if len(a) < 2 or len(b) < 2:
        return diff, None
    var_a = sum((x - sum(a) / len(a)) ** 2 for x in a) / (len(a) - 1) / len(a)
    var_b = sum((x - sum(b) / len(b)) ** 2 for x in b) / (len(b) - 1) / len(b)
    se = math.sqrt(var_a + var_b)
    if se == 0:
        return diff, (diff, diff)
    # Welch-Satterthwaite degrees of freedom (se > 0, so at least one term is positive)
    dof = (var_a + var_b) ** 2 / (var_a ** 2 / (len(a) - 1) + var_b ** 2 / (len(b) - 1))
    half = _t_quantile(confidence, dof) * se
    return diff, (diff - half, diff + half)


def bootstrap_ratio_interval(numerators, denominators, n_boot: int, confidence: float,
                             rng) -> tuple[float, float]:
    """Percentile interval of sum(numerators) / sum(denominators), resampling the (numerator,
    denominator) pairs jointly: with one pair per rater, whole raters with all their votes.
    Percentile rather than BCa because it stays defined when every vote agrees, where BCa's
    acceleration is 0/0. Needs two pairs or more."""
    from scipy import stats

    if len(numerators) < 2:
        raise ValueError(f"a bootstrap needs at least 2 clusters, got {len(numerators)}")
    result = stats.bootstrap(
        (np.asarray(numerators, float), np.asarray(denominators, float)),
        lambda num, den, axis: np.sum(num, axis=axis) / np.sum(den, axis=axis),
        paired=True, vectorized=True, n_resamples=n_boot, confidence_level=confidence,
        method="percentile", rng=rng,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)
