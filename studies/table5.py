"""Paper Table 5: mean rating per condition with intervals and tests that respect raters and items.

Pure numpy/scipy/statsmodels/krippendorff: no Django import. See studies.crossed for why the
intervals and the default pairwise test are two-way (rater x item) cluster-robust.
"""
from __future__ import annotations

import math
import numbers
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from .crossed import crossed_mean, crossed_ols
from .inference import as_float as _float
from .inference import check_confidence, holm
from .records import JsonMixin, StatsInputError, field_of
from .screening import ScreeningReport

SCORES = (1, 2, 3, 4, 5)
PAIRWISE_TESTS = ("crossed", "wilcoxon", "ttest")


@dataclass
class ConditionSummary(JsonMixin):
    condition: Any
    position: int                      # index in the ablation order
    n_votes: int
    n_raters: int
    n_items: int
    mean: float | None
    sd: float | None                   # sample SD of the votes (ddof=1)
    ci_low: float | None               # two-way (rater x item) cluster-robust, t(min(raters, items) - 1)
    ci_high: float | None
    ci_df: int | None
    rater_ci_low: float | None         # clustered by rater only (CR1, t(raters - 1)): for comparison;
    rater_ci_high: float | None        # it ignores the item effect and covers less than it says


@dataclass
class PairwiseComparison(JsonMixin):
    condition_a: Any
    condition_b: Any
    neighbours: bool                   # adjacent rows of the ablation order
    n_raters_paired: int               # raters who rated both conditions
    mean_difference: float | None      # crossed: mean_b - mean_a; wilcoxon/ttest: over paired raters
    statistic: float | None
    p_value: float | None              # None: test undefined (e.g. every paired difference is 0)
    p_holm_all: float | None           # Holm over all pairs with a p-value
    p_holm_neighbours: float | None    # Holm over neighbouring pairs only; None for the others
    significant_all: bool | None
    significant_neighbours: bool | None


@dataclass
class Table5Result(JsonMixin):
    conditions: list[ConditionSummary]
    pairwise: list[PairwiseComparison]
    krippendorff_alpha: float | None
    alpha_units: int                   # (condition, item) units rated by at least two raters
    alpha_note: str | None
    n_votes: int
    n_raters: int
    confidence: float
    pairwise_test: str
    screening: dict | None = None
    kind: str = "table5"
    methods: dict = field(default_factory=dict)


def _score(value, index: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value).is_integer():
        raise StatsInputError(f"vote {index}: score must be a whole number 1-5, got {value!r}")
    if not 1 <= value <= 5:
        raise StatsInputError(f"vote {index}: score {value!r} is outside 1-5")
    return int(value)


def _parse_votes(votes: Iterable) -> list[tuple[Any, Any, Any, int]]:
    parsed, seen = [], set()
    for index, vote in enumerate(votes):
        rater, condition, item = (field_of(vote, name, index, "vote") for name in ("rater", "condition", "item"))
        score = _score(field_of(vote, "score", index, "vote"), index)
        key = (rater, condition, item)
        if key in seen:
            raise StatsInputError(f"vote {index}: rater {rater!r} rated condition {condition!r}, "
                                  f"item {item!r} twice")
        seen.add(key)
        parsed.append((rater, condition, item, score))
    if not parsed:
        raise StatsInputError("Table 5 needs at least one vote; got none")
    return parsed


def _resolve_order(seen_conditions, condition_order) -> list:
    if condition_order is None:
        return sorted(seen_conditions, key=str)
    order = list(condition_order)
    if len(set(order)) != len(order):
        raise StatsInputError(f"condition_order repeats a condition: {order!r}")
    unknown = [c for c in seen_conditions if c not in set(order)]
    if unknown:
        raise StatsInputError(f"conditions {sorted(unknown, key=str)!r} have votes but are not in "
                              f"condition_order {order!r}")
    return order


def _summarise_condition(condition, position, rows, confidence) -> ConditionSummary:
    import statsmodels.api as sm  # imported here: 2 s that the web tier only pays for results pages
    
    if not rows:  # listed in the order but nobody has rated it yet (live results)
        return ConditionSummary(condition, position, 0, 0, 0, None, None, None, None, None, None, None)
    raters = [r for r, _, _ in rows]
    items = [i for _, i, _ in rows]
    scores = np.array([s for _, _, s in rows], dtype=float)
    # Integer sum / count: the mean is the correctly rounded quotient, so 95 / 50 == 1.90 exactly.
    mean = sum(s for _, _, s in rows) / len(rows)
    crossed, df = (None, None), None
    if len(set(raters)) >= 2 and len(set(items)) >= 2:
        fit = crossed_mean(scores, raters, items)
        low, high = fit.interval(confidence)
        crossed, df = (_float(low), _float(high)), fit.df
    by_rater = (None, None)
    if len(set(raters)) >= 2:
        code = {k: g for g, k in enumerate(dict.fromkeys(raters))}
        groups = np.array([code[r] for r in raters])
        fit = sm.OLS(scores, np.ones((len(scores), 1))).fit(
            cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        low, high = fit.conf_int(alpha=1.0 - confidence)[0]
        by_rater = (_float(low), _float(high))
    return ConditionSummary(
        condition=condition, position=position, n_votes=len(rows), n_raters=len(set(raters)),
        n_items=len(set(items)), mean=float(mean),
        sd=_float(np.std(scores, ddof=1)) if len(rows) >= 2 else None,
        ci_low=crossed[0], ci_high=crossed[1], ci_df=df, rater_ci_low=by_rater[0], rater_ci_high=by_rater[1])


def _paired_test(a: np.ndarray, b: np.ndarray, method: str):
    from scipy import stats as sps
    
    differences = b - a
    if len(differences) == 0 or not np.any(differences != 0):
        return None, None
    if method == "wilcoxon":
        result = sps.wilcoxon(b, a)
    else:
        if len(differences) < 2:
            return None, None
        result = sps.ttest_rel(b, a)
    return _float(result.statistic), _float(result.pvalue)


def _crossed_difference(a, b, rows_a, rows_b):
    """Two-way cluster-robust t test of mean_b - mean_a on the votes of both conditions (items are
    the sounds, shared by the conditions, so raters and items cross both)."""
    rows = [(r, i, s, 0.0) for r, i, s in rows_a] + [(r, i, s, 1.0) for r, i, s in rows_b]
    raters, items = [r for r, *_ in rows], [i for _, i, *_ in rows]
    if not rows_a or not rows_b or len(set(raters)) < 2 or len(set(items)) < 2:
        return None, None, None
    scores = np.array([s for _, _, s, _ in rows], dtype=float)
    if np.all(scores == scores[0]):
        return 0.0, None, None
    design = np.column_stack([np.ones(len(rows)), [d for *_, d in rows]])
    fit = crossed_ols(scores, design, raters, items)
    t, p = fit.t_test(index=1)
    return _float(fit.coef[1]), _float(t), _float(p)


def _pairwise(order, rater_means, by_condition, method, alpha) -> list[PairwiseComparison]:
    comparisons, p_values = [], []
    for (i, a), (j, b) in combinations(enumerate(order), 2):
        paired = sorted((r for r in rater_means if a in rater_means[r] and b in rater_means[r]), key=str)
        xa = np.array([rater_means[r][a] for r in paired], dtype=float)
        xb = np.array([rater_means[r][b] for r in paired], dtype=float)
        if method == "crossed":
            difference, statistic, p = _crossed_difference(a, b, by_condition.get(a, []), by_condition.get(b, []))
        else:
            statistic, p = _paired_test(xa, xb, method)
            difference = _float(np.mean(xb - xa)) if paired else None
        comparisons.append(PairwiseComparison(
            condition_a=a, condition_b=b, neighbours=(j - i == 1), n_raters_paired=len(paired),
            mean_difference=difference, statistic=statistic,
            p_value=p, p_holm_all=None, p_holm_neighbours=None, significant_all=None,
            significant_neighbours=None))
        p_values.append(p)
    adjusted, reject = holm(p_values, alpha)
    neighbour_p = [p if c.neighbours else None for c, p in zip(comparisons, p_values)]
    adjusted_n, reject_n = holm(neighbour_p, alpha)
    for k, comparison in enumerate(comparisons):
        comparison.p_holm_all, comparison.significant_all = adjusted[k], reject[k]
        comparison.p_holm_neighbours, comparison.significant_neighbours = adjusted_n[k], reject_n[k]
    return comparisons


def _ordinal_alpha(parsed) -> tuple[float | None, int, str | None]:
    """Krippendorff's alpha (ordinal, domain 1-5) over units = (condition, item), coders = raters."""
    import krippendorff
    
    raters = sorted({r for r, _, _, _ in parsed}, key=str)
    units = sorted({(c, i) for _, c, i, _ in parsed}, key=str)
    rater_index = {r: k for k, r in enumerate(raters)}
    unit_index = {u: k for k, u in enumerate(units)}
    matrix = np.full((len(raters), len(units)), np.nan)
    for rater, condition, item, score in parsed:
        matrix[rater_index[rater], unit_index[(condition, item)]] = score
    pairable = int(np.sum(np.sum(~np.isnan(matrix), axis=0) >= 2))
    if pairable == 0:
        return None, 0, "no (condition, item) unit was rated by two raters; alpha is undefined"
    alpha = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal",
                               value_domain=list(SCORES))
    if math.isnan(alpha):
        return None, pairable, "every pairable vote has the same score; expected disagreement is 0"
    return float(alpha), pairable, None


def table5(votes: Iterable, condition_order: Sequence | None = None, *, confidence: float = 0.95,
           pairwise_test: str = "crossed", screening: ScreeningReport | Mapping | None = None) -> Table5Result:
    """Paper Table 5: mean opinion score per condition with rater- and item-aware CIs, tests and agreement.

    votes: records with ``rater``, ``condition``, ``item``, ``score`` (whole number 1-5); one vote
    per (rater, condition, item). condition_order: the ablation ladder, first row first; conditions
    listed with no votes get an empty row. pairwise_test: ``"crossed"`` (default: two-way
    cluster-robust t test on the votes, raters and items both random), or ``"wilcoxon"`` /
    ``"ttest"`` on per-rater mean scores paired across raters (these treat items as fixed).
    """
    check_confidence(confidence)
    if pairwise_test not in PAIRWISE_TESTS:
        raise StatsInputError(f"pairwise_test must be one of {PAIRWISE_TESTS}, got {pairwise_test!r}")
    parsed = _parse_votes(votes)
    order = _resolve_order({c for _, c, _, _ in parsed}, condition_order)
    by_condition: dict[Any, list] = defaultdict(list)
    rater_scores: dict[Any, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(list))
    for rater, condition, item, score in parsed:
        by_condition[condition].append((rater, item, score))
        rater_scores[rater][condition].append(score)
    summaries = [_summarise_condition(c, k, by_condition.get(c, []), confidence) for k, c in enumerate(order)]
    rater_means = {r: {c: sum(s) / len(s) for c, s in per.items()} for r, per in rater_scores.items()}
    alpha, units, note = _ordinal_alpha(parsed)
    if isinstance(screening, ScreeningReport):
        screening = screening.to_dict()
    return Table5Result(
        conditions=summaries, pairwise=_pairwise(order, rater_means, by_condition, pairwise_test, 1.0 - confidence),
        krippendorff_alpha=alpha, alpha_units=units, alpha_note=note, n_votes=len(parsed),
        n_raters=len(rater_scores), confidence=confidence, pairwise_test=pairwise_test,
        screening=dict(screening) if screening is not None else None,
        methods={
            "ci": "two-way cluster-robust (raters and items crossed; Cameron-Gelbach-Miller, CR1 factors), t with "
                  "min(raters, items) - 1 df; 93.8-97.1% coverage of the truth in our simulations "
                  "(tests/studies/test_stats_simulation.py)",
            "rater_ci": "clustered by rater only (statsmodels CR1, t with raters - 1 df): ignores items, covers less",
            "pairwise": {"crossed": "two-way cluster-robust t test of the difference in means (OLS on the votes of "
                                    "both conditions), t with min(raters, items) - 1 df",
                         "wilcoxon": "Wilcoxon signed-rank on per-rater means, paired by rater (scipy)",
                         "ttest": "paired t test on per-rater means (scipy)"}[pairwise_test]
                        + "; Holm (statsmodels multipletests) over all pairs and, separately, over neighbouring pairs",
            "agreement": "Krippendorff's alpha, ordinal, value domain 1-5, units = (condition, item)",
        })
