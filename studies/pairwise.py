"""Pairwise comparison of models: per sound, two models' images side by side, answered "left",
"right" or "no difference"; recorded side-free as "a" (the first model of the pair won), "b" or "tie".

Ranking: a Bradley-Terry model, logit P(m beats n) = s_m - s_n, the first model of `order` fixed at
0, fitted by statsmodels' binomial GLM with a tie counted as half a win each (the usual treatment;
Davidson's tie model gives the same ranking). Its intervals are two-way (rater x item) cluster-robust
(Cameron, Gelbach & Miller 2011, as studies.crossed does for OLS): the sandwich of the GLM's
score contributions x (y - p) clustered by rater, by item and by vote, V_rater + V_item - V_vote,
with the CR1 factors, the larger one-way term where the difference is not larger, and t on
min(raters, items) - 1 df. statsmodels' own two-way option has no such fallback and can give a
negative variance on small studies, so the sandwich is put together here from its fit.

Each pair of models: the first model's win rate (wins + ties / 2) / votes with its two-way
cluster-robust interval and t test of 0.5, Holm-adjusted over the pairs. Pure numpy/scipy/statsmodels.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from .crossed import _codes, _one_way, crossed_mean
from .inference import as_float as _float
from .inference import check_confidence, holm
from .records import JsonMixin, StatsInputError, field_of
from .screening import ScreeningReport

PAIRWISE_ANSWERS = ("a", "b", "tie")
_SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass
class Strength(JsonMixin):
    condition: Any
    position: int
    rank: int                            # 1 = strongest
    strength: float | None               # Bradley-Terry log-odds scale; the reference is 0
    ci_low: float | None                 # two-way cluster-robust, t(min(raters, items) - 1); None on the reference
    ci_high: float | None
    reference: bool


@dataclass
class PairRow(JsonMixin):
    condition_a: Any
    condition_b: Any
    n_votes: int
    n_raters: int
    n_items: int
    a_wins: int
    b_wins: int
    ties: int
    a_win_rate: float                    # (a wins + ties / 2) / votes
    ci_low: float | None                 # two-way cluster-robust
    ci_high: float | None
    p_value: float | None                # two-way cluster-robust t test of a_win_rate = 0.5
    p_holm: float | None = None
    significant: bool | None = None


@dataclass
class PairwiseResult(JsonMixin):
    strengths: list[Strength]
    pairs: list[PairRow]
    n_votes: int
    n_raters: int
    n_items: int
    confidence: float
    df: int | None
    screening: dict | None = None
    kind: str = "pairwise"
    methods: dict = field(default_factory=dict)


def _parse(votes: Iterable) -> list[tuple[Any, Any, Any, Any, float, str]]:
    parsed, seen = [], set()
    for index, record in enumerate(votes):
        rater, item, first, second = (field_of(record, n, index, "pairwise vote")
                                      for n in ("rater", "item", "condition_a", "condition_b"))
        answer = field_of(record, "answer", index, "pairwise vote")
        if answer not in PAIRWISE_ANSWERS:
            raise StatsInputError(f"pairwise vote {index}: {answer!r} is not one of {PAIRWISE_ANSWERS}")
        if first == second:
            raise StatsInputError(f"pairwise vote {index}: a model compared with itself ({first!r})")
        if (rater, item, first, second) in seen:
            raise StatsInputError(f"pairwise vote {index}: rater {rater!r} answered this pair of item {item!r} twice")
        seen.add((rater, item, first, second))
        parsed.append((rater, item, first, second, _SCORE[answer], answer))
    if not parsed:
        raise StatsInputError("the pairwise table needs at least one answer; got none")
    return parsed


def bt_design(firsts, seconds, conditions: Sequence) -> np.ndarray:
    """+1 in the first model's column, -1 in the second's; the reference (conditions[0]) dropped."""
    column = {c: k - 1 for k, c in enumerate(conditions)}
    x = np.zeros((len(firsts), len(conditions) - 1))
    for row, (a, b) in enumerate(zip(firsts, seconds)):
        if column[a] >= 0:
            x[row, column[a]] += 1.0
        if column[b] >= 0:
            x[row, column[b]] -= 1.0
    return x


def bt_fit(y, x, raters, items):
    """(coefficients, two-way cluster-robust SEs, df), or None where the fit does not exist (a model
    that always wins or always loses: the maximum-likelihood strength is infinite)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    y = np.asarray(y, dtype=float)
    n, k = x.shape
    rater_codes, n_raters = _codes(raters)
    item_codes, n_items = _codes(items)
    if min(n_raters, n_items) < 2 or k == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            fit = sm.GLM(y, x, family=sm.families.Binomial()).fit()
        except (PerfectSeparationWarning, np.linalg.LinAlgError, ValueError):
            return None
    coef = np.asarray(fit.params)
    if not np.all(np.isfinite(coef)) or np.max(np.abs(coef)) > 15:
        return None
    p = 1.0 / (1.0 + np.exp(-(x @ coef)))
    bread = np.linalg.inv(x.T @ (x * (p * (1 - p))[:, None]))
    scores = (y - p)[:, None] * x
    small = (n - 1) / (n - k)

    def sandwich(meat, groups):
        return groups / (groups - 1) * small * bread @ meat @ bread

    v_rater = sandwich(_one_way(scores, rater_codes, n_raters), n_raters)
    v_item = sandwich(_one_way(scores, item_codes, n_items), n_items)
    v_vote = sandwich(scores.T @ scores, n)
    diagonal = np.diag(v_rater + v_item - v_vote)
    floor = np.maximum(np.diag(v_rater), np.diag(v_item))
    return coef, np.sqrt(np.maximum(diagonal, floor)), min(n_raters, n_items) - 1


def _pair_row(a, b, rows, confidence) -> PairRow:
    """rows: (rater, item, score, answer) with a as the first model."""
    scores = [s for _, _, s, _ in rows]
    raters, items = [r for r, _, _, _ in rows], [i for _, i, _, _ in rows]
    low = high = p = None
    if len(set(raters)) >= 2 and len(set(items)) >= 2:
        fit = crossed_mean(scores, raters, items)
        low, high = (_float(v) for v in fit.interval(confidence))
        if float(fit.se[0]) > 0:
            p = _float(fit.t_test(0, null=0.5)[1])
    answers = [ans for _, _, _, ans in rows]
    return PairRow(condition_a=a, condition_b=b, n_votes=len(rows), n_raters=len(set(raters)),
                   n_items=len(set(items)), a_wins=answers.count("a"), b_wins=answers.count("b"),
                   ties=answers.count("tie"), a_win_rate=float(np.mean(scores)), ci_low=low, ci_high=high, p_value=p)


def pairwise_table(votes: Iterable, order: Sequence | None = None, *, confidence: float = 0.95,
                   screening: ScreeningReport | Mapping | None = None) -> PairwiseResult:
    """votes: records with ``rater``, ``item`` (the sound), ``condition_a``, ``condition_b`` (the two
    models shown) and ``answer``: "a" (condition_a's image fits better), "b" or "tie"."""
    check_confidence(confidence)
    parsed = _parse(votes)
    conditions = list(order) if order else sorted({c for v in parsed for c in v[2:4]}, key=str)
    missing = {c for v in parsed for c in v[2:4]} - set(conditions)
    if missing:
        raise StatsInputError(f"models {sorted(missing, key=str)} are not in the order given")
    raters, items = [v[0] for v in parsed], [v[1] for v in parsed]
    y = [v[4] for v in parsed]
    fitted = bt_fit(y, bt_design([v[2] for v in parsed], [v[3] for v in parsed], conditions), raters, items)
    strengths = []
    values = [0.0] + (list(fitted[0]) if fitted else [None] * (len(conditions) - 1))
    ranks = {c: None for c in conditions}
    if fitted:
        for rank, k in enumerate(sorted(range(len(conditions)), key=lambda k: -values[k]), start=1):
            ranks[conditions[k]] = rank
    from scipy import stats as sps

    for k, condition in enumerate(conditions):
        low = high = None
        if fitted and k > 0:
            half = sps.t.ppf(0.5 + confidence / 2, fitted[2]) * fitted[1][k - 1]
            low, high = _float(values[k] - half), _float(values[k] + half)
        strengths.append(Strength(condition=condition, position=k, rank=ranks[condition],
                                  strength=_float(values[k]) if values[k] is not None else None,
                                  ci_low=low, ci_high=high, reference=k == 0))
    pairs = []
    for a, b in combinations(conditions, 2):
        rows = [(r, i, s, ans) for r, i, x, z, s, ans in parsed if (x, z) == (a, b)]
        rows += [(r, i, 1.0 - s, {"a": "b", "b": "a"}.get(ans, ans)) for r, i, x, z, s, ans in parsed if (x, z) == (b, a)]
        if rows:
            pairs.append(_pair_row(a, b, rows, confidence))
    adjusted, reject = holm([row.p_value for row in pairs], 1.0 - confidence)
    for row, p, significant in zip(pairs, adjusted, reject):
        row.p_holm, row.significant = p, significant
    if isinstance(screening, ScreeningReport):
        screening = screening.to_dict()
    return PairwiseResult(
        strengths=strengths, pairs=pairs, n_votes=len(parsed), n_raters=len(set(raters)), n_items=len(set(items)),
        confidence=confidence, df=fitted[2] if fitted else None,
        screening=dict(screening) if screening is not None else None,
        methods={
            "strength": "Bradley-Terry log-odds strength (binomial GLM, statsmodels; a tie is half a win each), "
                        f"the reference {conditions[0]!r} fixed at 0; undefined when a model always wins or loses",
            "strength_ci": "two-way (rater x item) cluster-robust sandwich of the GLM, t with min(raters, items) - 1 df",
            "win_rate_ci": "two-way cluster-robust interval of (wins + ties / 2) / votes (studies.crossed)",
            "p_value": "two-way cluster-robust t test of win rate = 0.5, Holm over the pairs",
        })
