"""Realism as an error rate (HYPE-infinity, Zhou et al. 2019): real and generated images shuffled,
one at a time, each answered "real" or "fake".

Per model: the share of its fakes called real, the share of the real photos called fake (shared by
every model: the real photos are one pool), and the overall error of a balanced mix of that model's
fakes and the real photos, (fakes called real + reals called fake) / 2; 0.5 means raters cannot tell
that model's images from photos. All intervals are the two-way (rater x item) cluster-robust ones of
studies.crossed, as in Tables 5 and 6. The overall error is the intercept of the saturated OLS of the
error indicator on (1, +1 for a fake / -1 for a real), which equals the two shares' average exactly
and carries their covariance (the same raters answer both) into its interval. Pure numpy/scipy.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .crossed import CrossedFit, crossed_mean, crossed_ols
from .inference import as_float as _float
from .inference import check_confidence, holm
from .records import JsonMixin, StatsInputError, field_of
from .screening import ScreeningReport

REALISM_ANSWERS = ("real", "fake")


@dataclass
class RealismRow(JsonMixin):
    condition: Any                       # the model's label
    position: int
    n_fake_votes: int
    n_fake_items: int
    n_raters: int
    fake_called_real: float              # share of this model's fakes answered "real"
    fake_ci_low: float | None            # two-way (rater x item) cluster-robust, t(min(raters, items) - 1)
    fake_ci_high: float | None
    real_called_fake: float              # share of the real photos answered "fake" (the same on every row)
    real_ci_low: float | None
    real_ci_high: float | None
    error: float                         # (fake_called_real + real_called_fake) / 2: 0.5 = indistinguishable
    error_ci_low: float | None
    error_ci_high: float | None
    error_ci_df: int | None
    p_indistinguishable: float | None    # two-way cluster-robust t test of error = 0.5
    p_indistinguishable_holm: float | None = None


@dataclass
class RealShares(JsonMixin):
    n_votes: int
    n_items: int
    n_raters: int
    real_called_fake: float
    ci_low: float | None
    ci_high: float | None


@dataclass
class RealismResult(JsonMixin):
    rows: list[RealismRow]
    real: RealShares
    confidence: float
    screening: dict | None = None
    kind: str = "realism"
    methods: dict = field(default_factory=dict)


def _parse(votes: Iterable) -> list[tuple[Any, Any, Any, bool]]:
    """(rater, item, condition or None for a real photo, error?)."""
    parsed, seen = [], set()
    for index, record in enumerate(votes):
        rater, item, condition = (field_of(record, n, index, "realism vote") for n in ("rater", "item", "condition"))
        answer = field_of(record, "answer", index, "realism vote")
        if answer not in REALISM_ANSWERS:
            raise StatsInputError(f"realism vote {index}: {answer!r} is not one of {REALISM_ANSWERS}")
        if (rater, item) in seen:
            raise StatsInputError(f"realism vote {index}: rater {rater!r} answered item {item!r} twice")
        seen.add((rater, item))
        is_real = condition in (None, "")
        parsed.append((rater, item, None if is_real else condition, answer == ("fake" if is_real else "real")))
    if not parsed:
        raise StatsInputError("the realism table needs at least one answer; got none")
    return parsed


def _interval(fit: CrossedFit | None, confidence: float, index: int = 0):
    if fit is None:
        return None, None
    low, high = fit.interval(confidence, index)
    return _float(low), _float(high)


def _fit_mean(values, raters, items) -> CrossedFit | None:
    return crossed_mean(values, raters, items) if len(set(raters)) >= 2 and len(set(items)) >= 2 else None


def balanced_error_fit(errors, is_fake, raters, items) -> CrossedFit | None:
    """OLS of the error indicator on (1, +1 fake / -1 real): coefficient 0 is the balanced error
    (e_fake + e_real) / 2 with its two-way cluster-robust SE. None without both kinds of image or
    with fewer than two raters or items. `errors` may carry a leading axis of simulated studies."""
    is_fake = np.asarray(is_fake, dtype=bool)
    if is_fake.all() or not is_fake.any() or len(set(raters)) < 2 or len(set(items)) < 2:
        return None
    design = np.column_stack([np.ones(len(is_fake)), np.where(is_fake, 1.0, -1.0)])
    return crossed_ols(errors, design, raters, items)


def realism_table(votes: Iterable, order: Sequence | None = None, *, confidence: float = 0.95,
                  screening: ScreeningReport | Mapping | None = None) -> RealismResult:
    """votes: records with ``rater``, ``item``, ``condition`` (the model's label; None or "" for a real
    photo) and ``answer`` ("real" or "fake"); one answer per (rater, item). `order`: row order."""
    check_confidence(confidence)
    parsed = _parse(votes)
    real = [(r, i, e) for r, i, c, e in parsed if c is None]
    if not real:
        raise StatsInputError("the realism table needs answers on real photos; got none")
    conditions = list(order) if order else sorted({c for _, _, c, _ in parsed if c is not None}, key=str)
    real_fit = _fit_mean([e for _, _, e in real], [r for r, _, _ in real], [i for _, i, _ in real])
    real_low, real_high = _interval(real_fit, confidence)
    real_rate = float(np.mean([e for _, _, e in real]))
    rows = []
    for position, condition in enumerate(conditions):
        fakes = [(r, i, e) for r, i, c, e in parsed if c == condition]
        if not fakes:
            continue
        fake_rate = float(np.mean([e for _, _, e in fakes]))
        fake_fit = _fit_mean([e for _, _, e in fakes], [r for r, _, _ in fakes], [i for _, i, _ in fakes])
        both = fakes + real
        raters, items = [r for r, _, _ in both], [i for _, i, _ in both]
        overall = balanced_error_fit([e for _, _, e in both], [k < len(fakes) for k in range(len(both))], raters, items)
        error_low, error_high = _interval(overall, confidence)
        p = None
        if overall is not None and float(overall.se[0]) > 0:
            p = _float(overall.t_test(0, null=0.5)[1])
        rows.append(RealismRow(
            condition=condition, position=position, n_fake_votes=len(fakes), n_fake_items=len({i for _, i, _ in fakes}),
            n_raters=len({r for r, _, _ in fakes}), fake_called_real=fake_rate,
            fake_ci_low=_interval(fake_fit, confidence)[0], fake_ci_high=_interval(fake_fit, confidence)[1],
            real_called_fake=real_rate, real_ci_low=real_low, real_ci_high=real_high,
            error=(fake_rate + real_rate) / 2, error_ci_low=error_low, error_ci_high=error_high,
            error_ci_df=overall.df if overall is not None else None, p_indistinguishable=p))
    adjusted, _ = holm([row.p_indistinguishable for row in rows], 1.0 - confidence)
    for row, p in zip(rows, adjusted):
        row.p_indistinguishable_holm = p
    if isinstance(screening, ScreeningReport):
        screening = screening.to_dict()
    return RealismResult(
        rows=rows, real=RealShares(n_votes=len(real), n_items=len({i for _, i, _ in real}),
                                   n_raters=len({r for r, _, _ in real}), real_called_fake=real_rate,
                                   ci_low=real_low, ci_high=real_high),
        confidence=confidence, screening=dict(screening) if screening is not None else None,
        methods={
            "fake_ci": "two-way (rater x item) cluster-robust interval of the share of the model's fakes called real, "
                       "t with min(raters, items) - 1 df (studies.crossed)",
            "real_ci": "the same for the share of the real photos called fake",
            "error": "HYPE-infinity error of a balanced mix: (fakes called real + reals called fake) / 2; 0.5 = "
                     "indistinguishable from the real photos",
            "error_ci": "intercept of OLS of the error indicator on (1, +1 fake / -1 real), two-way cluster-robust",
            "p_indistinguishable": "two-way cluster-robust t test of error = 0.5, Holm over the models",
        })
