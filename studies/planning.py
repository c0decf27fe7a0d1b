"""How many raters (and items) a study needs, from a pilot or the study so far; and the stopping rule.

A vote is y = mu_group + rater effect + item effect + noise, raters and items random, so the mean of
N votes from R raters (m each) over I items (N / I each) has variance
    sigma_rater^2 / R + sigma_item^2 / I + sigma_vote^2 / N        (balanced design)
and its 95% interval half-width is t(min(R, I) - 1) times the square root, as studies.crossed
computes it. The components are estimated by the method of moments on the residuals from each
group's mean (a group: a model's fakes, the real photos, one pair of models): the covariance of
two votes of one rater on different items is sigma_rater^2, of two votes on one item by different
raters sigma_item^2, and the rest of the variance is the vote's own. (Method of moments rather than
statsmodels' MixedLM with crossed variance components: it is closed-form, cannot fail to converge on
a small pilot, and runs for every named interval on every results page.) Negative estimates are 0.

Minimum detectable difference between two estimates (two models' errors or means) at power 1 - beta:
(t_{1 - alpha/2} + t_{1 - beta}) * sqrt(var_a + var_b), the variances added as if independent (the
same raters answering both makes it smaller for positively correlated raters: conservative).

Stopping rule, fixed when the study is built (kept in its read-only build parameters) and reported
with the results: close the study when every named interval's half-width is at most the target, or
when every item has its cap of votes. Pure numpy/scipy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .crossed import _codes
from .inference import as_float as _float
from .records import JsonMixin, StatsInputError


@dataclass
class Components(JsonMixin):
    """Variance components of one estimand's votes and the shape of the design they came from."""

    name: str
    rater: float
    item: float
    vote: float
    n_votes: int
    n_raters: int
    n_items: int

    @property
    def votes_per_rater(self) -> float:
        return self.n_votes / self.n_raters if self.n_raters else 0.0


def variance_components(values, raters, items, groups=None, name: str = "") -> Components:
    """Method-of-moments rater, item and vote variances of `values` (residuals from each group's mean)."""
    y = np.asarray(values, dtype=float)
    if len(y) < 3:
        raise StatsInputError(f"{name or 'an estimand'}: at least 3 votes are needed to plan from, got {len(y)}")
    group_codes, _ = _codes(np.zeros(len(y)) if groups is None else groups)
    residuals = y.copy()
    for g in np.unique(group_codes):
        residuals[group_codes == g] -= y[group_codes == g].mean()
    total = float(np.mean(residuals ** 2))

    def shared(labels, other):
        """Mean product of residuals over pairs of votes sharing `labels` but not `other`."""
        codes, count = _codes(labels)
        other_codes, _ = _codes(other)
        product = pairs = 0.0
        for g in range(count):
            mine = codes == g
            e, o = residuals[mine], other_codes[mine]
            if len(e) < 2:
                continue
            same_other = o[:, None] == o[None, :]
            outer = np.outer(e, e)
            product += outer[~same_other].sum()
            pairs += (~same_other).sum()
        return product / pairs if pairs else 0.0

    rater, item = max(0.0, shared(raters, items)), max(0.0, shared(items, raters))
    rater_codes, n_raters = _codes(raters)
    item_codes, n_items = _codes(items)
    return Components(name=name, rater=rater, item=item, vote=max(0.0, total - rater - item), n_votes=len(y),
                      n_raters=n_raters, n_items=n_items)


def predicted_variance(c: Components, n_raters: int, n_items: int, votes_per_rater: float) -> float:
    return c.rater / n_raters + c.item / n_items + c.vote / (n_raters * votes_per_rater)


def predicted_half_width(c: Components, n_raters: int, n_items: int, votes_per_rater: float,
                         confidence: float = 0.95) -> float:
    from scipy import stats as sps

    df = max(1, min(n_raters, n_items) - 1)
    return float(sps.t.ppf(0.5 + confidence / 2, df) * np.sqrt(predicted_variance(c, n_raters, n_items,
                                                                                   votes_per_rater)))


@dataclass
class Recommendation(JsonMixin):
    name: str
    components: dict
    target_half_width: float
    n_items: int
    votes_per_rater: float
    raters_needed: int | None            # None: not reachable with these items (the item term alone is too wide)
    predicted_half_width: float | None   # at raters_needed
    items_needed_at_max_raters: int | None
    note: str


def recommend_raters(c: Components, target_half_width: float, *, n_items: int | None = None,
                     votes_per_rater: float | None = None, confidence: float = 0.95,
                     max_raters: int = 2000, max_items: int = 20000) -> Recommendation:
    """The fewest raters (each answering `votes_per_rater` of this estimand's items, default as in the
    pilot) whose interval half-width is at most the target, with `n_items` items (default the pilot's)."""
    if not target_half_width > 0:
        raise StatsInputError(f"the target half-width must be positive, got {target_half_width!r}")
    items = n_items or c.n_items
    per_rater = votes_per_rater or c.votes_per_rater
    raters_needed = next((r for r in range(2, max_raters + 1)
                          if predicted_half_width(c, r, items, per_rater, confidence) <= target_half_width), None)
    items_needed = None
    if raters_needed is None:
        items_needed = next((i for i in range(items, max_items + 1)
                             if predicted_half_width(c, max_raters, i, per_rater, confidence) <= target_half_width),
                            None)
    note = (f"{raters_needed} raters answering {per_rater:g} votes each over {items} items"
            if raters_needed else f"not reachable with {items} items and up to {max_raters} raters: the item "
            f"variance alone is too wide; {items_needed or 'more than ' + str(max_items)} items would be needed")
    return Recommendation(
        name=c.name, components=c.to_dict(), target_half_width=target_half_width, n_items=items,
        votes_per_rater=per_rater, raters_needed=raters_needed,
        predicted_half_width=_float(predicted_half_width(c, raters_needed, items, per_rater, confidence))
        if raters_needed else None, items_needed_at_max_raters=items_needed, note=note)


def minimum_detectable_difference(a: Components, b: Components, n_raters: int, *, n_items: int | None = None,
                                  votes_per_rater: float | None = None, alpha: float = 0.05,
                                  power: float = 0.8) -> float:
    """The smallest true difference between estimates a and b a two-sided test at `alpha` finds with `power`."""
    from scipy import stats as sps

    df = max(1, min(n_raters, n_items or min(a.n_items, b.n_items)) - 1)
    var = (predicted_variance(a, n_raters, n_items or a.n_items, votes_per_rater or a.votes_per_rater)
           + predicted_variance(b, n_raters, n_items or b.n_items, votes_per_rater or b.votes_per_rater))
    return float((sps.t.ppf(1 - alpha / 2, df) + sps.t.ppf(power, df)) * np.sqrt(var))


def raters_for_difference(a: Components, b: Components, difference: float, *, alpha: float = 0.05,
                          power: float = 0.8, max_raters: int = 2000, **design) -> int | None:
    """The fewest raters for which `difference` is detectable (None: not within max_raters)."""
    if not difference > 0:
        raise StatsInputError(f"the difference must be positive, got {difference!r}")
    return next((r for r in range(2, max_raters + 1)
                 if minimum_detectable_difference(a, b, r, alpha=alpha, power=power, **design) <= difference), None)


# ---------------------------------------------------------------------------------- stopping
@dataclass
class StoppingRule(JsonMixin):
    """Close when every named interval's half-width is at most `half_width` (the names of
    `named_intervals` of the study's table; empty = every interval), or at the cap of votes."""

    half_width: float
    names: tuple = ()
    min_raters: int = 5              # never stop on the first few raters' intervals

    @classmethod
    def from_params(cls, params: dict | None) -> StoppingRule | None:
        if not params:
            return None
        try:
            rule = cls(half_width=float(params["half_width"]), names=tuple(params.get("names") or ()),
                       min_raters=int(params.get("min_raters", 5)))
        except (KeyError, TypeError, ValueError) as error:
            raise StatsInputError(f"a stopping rule needs a numeric half_width: {error}") from error
        if not 0 < rule.half_width < 1e6 or rule.min_raters < 2:
            raise StatsInputError("a stopping rule needs half_width > 0 and min_raters of at least 2")
        return rule

    def decide(self, intervals: dict[str, tuple[float | None, float | None]], n_raters: int) -> dict[str, Any]:
        """{"stop": bool, "widest": name, "half_widths": {...}, "reason": str} for the current intervals."""
        names = list(self.names) or list(intervals)
        missing = [n for n in names if n not in intervals]
        halves = {n: (None if intervals[n][0] is None or intervals[n][1] is None
                      else (intervals[n][1] - intervals[n][0]) / 2) for n in names if n in intervals}
        ready = (not missing and halves and all(h is not None and h <= self.half_width for h in halves.values())
                 and n_raters >= self.min_raters)
        widest = max(halves, key=lambda n: np.inf if halves[n] is None else halves[n]) if halves else None
        reason = ("every named interval is within the target" if ready
                  else f"{widest!r} is still wider than the target" if widest
                  else f"no interval yet for {missing}")
        if missing and not ready:
            reason = f"no interval yet for {missing}"
        return {"stop": bool(ready), "widest": widest, "half_widths": halves, "reason": reason,
                "rule": self.to_dict()}
