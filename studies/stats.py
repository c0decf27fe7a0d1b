"""Statistics for the human-evaluation studies (the paper's Tables 5 and 6).

Pure numpy/scipy/statsmodels/krippendorff: no Django import, so the same numbers can be computed
by the results page, the API, the CSV export and the tests. Inputs are plain records (mappings or
objects with attributes); outputs are dataclasses whose ``to_dict()`` is JSON-ready.

Rater screening (catch trials) lives in ``studies.screening`` and is re-exported here.
"""
from __future__ import annotations

import math
import numbers
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import krippendorff
import numpy as np
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from studies.screening import (  # noqa: F401  (re-exported: one import site for callers)
    RaterExclusion,
    ScreenedRecords,
    ScreeningReport,
    ScreeningResult,
    ScreeningRule,
    apply_screening,
    screen_raters,
)
from studies.records import Answer, CatchResult, JsonMixin, StatsInputError, Vote, field_of  # noqa: F401

SCORES = (1, 2, 3, 4, 5)
ANSWERS = ("positive", "negative", "neither")
PAIRWISE_TESTS = ("wilcoxon", "ttest")


def _float(value) -> float | None:
    """numpy scalar -> float; NaN or infinity (undefined / degenerate) -> None so JSON stays valid."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _check_confidence(confidence: float, n_boot: int | None = None) -> None:
    if not 0.0 < confidence < 1.0:
        raise StatsInputError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if n_boot is not None and (isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100):
        raise StatsInputError(f"n_boot must be an integer of at least 100, got {n_boot!r}")


def _cluster_bootstrap_ratio(numerators, denominators, n_boot, confidence, rng):
    """Percentile CI of sum(numerators)/sum(denominators) resampling raters (clusters).

    Each rater contributes one (numerator, denominator) pair, so resampling the pairs jointly
    (paired=True) resamples whole raters with all their votes. Percentile rather than BCa because
    it stays defined when every vote agrees, where BCa's acceleration is 0/0.
    """
    if len(numerators) < 2:
        return None, None
    result = sps.bootstrap(
        (np.asarray(numerators, float), np.asarray(denominators, float)),
        lambda num, den, axis: np.sum(num, axis=axis) / np.sum(den, axis=axis),
        paired=True, vectorized=True, n_resamples=n_boot, confidence_level=confidence,
        method="percentile", rng=rng,
    )
    return _float(result.confidence_interval.low), _float(result.confidence_interval.high)


# ----------------------------------------------------------------------------------- Table 5
@dataclass
class ConditionSummary(JsonMixin):
    condition: Any
    position: int                      # index in the ablation order
    n_votes: int
    n_raters: int
    n_items: int
    mean: float | None
    sd: float | None                   # sample SD of the votes (ddof=1)
    boot_ci_low: float | None          # rater-cluster bootstrap, percentile
    boot_ci_high: float | None
    robust_ci_low: float | None        # OLS intercept, CR1 cluster-robust SE by rater, t(G-1)
    robust_ci_high: float | None


@dataclass
class PairwiseComparison(JsonMixin):
    condition_a: Any
    condition_b: Any
    neighbours: bool                   # adjacent rows of the ablation order
    n_raters_paired: int               # raters who rated both conditions
    mean_difference: float | None      # mean over paired raters of (mean_b - mean_a)
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
    n_boot: int
    seed: int
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


def _summarise_condition(condition, position, rows, n_boot, confidence, rng) -> ConditionSummary:
    if not rows:  # listed in the order but nobody has rated it yet (live results)
        return ConditionSummary(condition, position, 0, 0, 0, None, None, None, None, None, None)
    raters = [r for r, _, _ in rows]
    scores = np.array([s for _, _, s in rows], dtype=float)
    # Integer sum / count: the mean is the correctly rounded quotient, so 95 / 50 == 1.90 exactly.
    mean = sum(s for _, _, s in rows) / len(rows)
    per_rater_sum, per_rater_n = defaultdict(int), defaultdict(int)
    for rater, _, score in rows:
        per_rater_sum[rater] += score
        per_rater_n[rater] += 1
    keys = list(per_rater_sum)
    boot = _cluster_bootstrap_ratio([per_rater_sum[k] for k in keys], [per_rater_n[k] for k in keys],
                                    n_boot, confidence, rng)
    robust = (None, None)
    if len(keys) >= 2:
        code = {k: g for g, k in enumerate(keys)}
        groups = np.array([code[r] for r in raters])
        fit = sm.OLS(scores, np.ones((len(scores), 1))).fit(
            cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        low, high = fit.conf_int(alpha=1.0 - confidence)[0]
        robust = (_float(low), _float(high))
    return ConditionSummary(
        condition=condition, position=position, n_votes=len(rows), n_raters=len(keys),
        n_items=len({item for _, item, _ in rows}), mean=float(mean),
        sd=_float(np.std(scores, ddof=1)) if len(rows) >= 2 else None,
        boot_ci_low=boot[0], boot_ci_high=boot[1], robust_ci_low=robust[0], robust_ci_high=robust[1])


def _paired_test(a: np.ndarray, b: np.ndarray, method: str):
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


def _holm(p_values: Sequence[float | None], alpha: float):
    """Holm over the defined p-values; positions with None stay None."""
    defined = [i for i, p in enumerate(p_values) if p is not None]
    adjusted, reject = [None] * len(p_values), [None] * len(p_values)
    if defined:
        rej, corrected, _, _ = multipletests([p_values[i] for i in defined], alpha=alpha, method="holm")
        for slot, i in enumerate(defined):
            adjusted[i], reject[i] = float(corrected[slot]), bool(rej[slot])
    return adjusted, reject


def _pairwise(order, rater_means, method, alpha) -> list[PairwiseComparison]:
    comparisons, p_values = [], []
    for (i, a), (j, b) in combinations(enumerate(order), 2):
        paired = sorted((r for r in rater_means if a in rater_means[r] and b in rater_means[r]), key=str)
        xa = np.array([rater_means[r][a] for r in paired], dtype=float)
        xb = np.array([rater_means[r][b] for r in paired], dtype=float)
        statistic, p = _paired_test(xa, xb, method)
        comparisons.append(PairwiseComparison(
            condition_a=a, condition_b=b, neighbours=(j - i == 1), n_raters_paired=len(paired),
            mean_difference=_float(np.mean(xb - xa)) if paired else None, statistic=statistic,
            p_value=p, p_holm_all=None, p_holm_neighbours=None, significant_all=None,
            significant_neighbours=None))
        p_values.append(p)
    adjusted, reject = _holm(p_values, alpha)
    neighbour_p = [p if c.neighbours else None for c, p in zip(comparisons, p_values)]
    adjusted_n, reject_n = _holm(neighbour_p, alpha)
    for k, comparison in enumerate(comparisons):
        comparison.p_holm_all, comparison.significant_all = adjusted[k], reject[k]
        comparison.p_holm_neighbours, comparison.significant_neighbours = adjusted_n[k], reject_n[k]
    return comparisons


def _ordinal_alpha(parsed) -> tuple[float | None, int, str | None]:
    """Krippendorff's alpha (ordinal, domain 1-5) over units = (condition, item), coders = raters."""
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


def table5(votes: Iterable, condition_order: Sequence | None = None, *, n_boot: int = 2000,
           seed: int = 0, confidence: float = 0.95, pairwise_test: str = "wilcoxon",
           screening: ScreeningReport | Mapping | None = None) -> Table5Result:
    """Paper Table 5: mean opinion score per condition with rater-aware CIs, tests and agreement.

    votes: records with ``rater``, ``condition``, ``item``, ``score`` (whole number 1-5); one vote
    per (rater, condition, item). condition_order: the ablation ladder, first row first; conditions
    listed with no votes get an empty row. pairwise_test: ``"wilcoxon"`` (default) or ``"ttest"``,
    both on per-rater mean scores paired across raters who rated both conditions.

    Why per-rater means: votes of one rater are not independent, so the rater is the unit of
    replication; Wilcoxon signed-rank because with ~10 raters and 1-5 ordinal votes the per-rater
    differences are far from normal, and the signed-rank test needs no normality.
    """
    _check_confidence(confidence, n_boot)
    if pairwise_test not in PAIRWISE_TESTS:
        raise StatsInputError(f"pairwise_test must be one of {PAIRWISE_TESTS}, got {pairwise_test!r}")
    parsed = _parse_votes(votes)
    order = _resolve_order({c for _, c, _, _ in parsed}, condition_order)
    by_condition: dict[Any, list] = defaultdict(list)
    rater_scores: dict[Any, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(list))
    for rater, condition, item, score in parsed:
        by_condition[condition].append((rater, item, score))
        rater_scores[rater][condition].append(score)
    rng = np.random.default_rng(seed)
    summaries = [_summarise_condition(c, k, by_condition.get(c, []), n_boot, confidence, rng)
                 for k, c in enumerate(order)]
    rater_means = {r: {c: sum(s) / len(s) for c, s in per.items()} for r, per in rater_scores.items()}
    alpha, units, note = _ordinal_alpha(parsed)
    if isinstance(screening, ScreeningReport):
        screening = screening.to_dict()
    return Table5Result(
        conditions=summaries, pairwise=_pairwise(order, rater_means, pairwise_test, 1.0 - confidence),
        krippendorff_alpha=alpha, alpha_units=units, alpha_note=note, n_votes=len(parsed),
        n_raters=len(rater_scores), confidence=confidence, n_boot=n_boot, seed=seed,
        pairwise_test=pairwise_test, screening=dict(screening) if screening is not None else None,
        methods={
            "bootstrap_ci": "percentile CI, raters resampled with replacement (scipy.stats.bootstrap, paired)",
            "robust_ci": "OLS intercept, cluster-robust (CR1) SE by rater, t with n_raters-1 df (statsmodels)",
            "pairwise": f"{pairwise_test} on per-rater means, paired by rater; Holm (statsmodels "
                        "multipletests) over all pairs and, separately, over neighbouring pairs",
            "wilcoxon_p": "scipy method='auto', zero differences dropped: exact for <= 50 raters without "
                          "ties, all 2^n sign flips for <= 13 raters with ties, else normal approximation",
            "agreement": "Krippendorff's alpha, ordinal, value domain 1-5, units = (condition, item)",
        })


# ----------------------------------------------------------------------------------- Table 6
@dataclass
class AnswerShares(JsonMixin):
    scope: str                         # "all" or the sound class
    n_answers: int
    n_raters: int
    positive_count: int
    negative_count: int
    neither_count: int
    positive_share: float
    negative_share: float
    neither_share: float
    positive_ci_low: float             # Wilson score intervals, answers treated as independent
    positive_ci_high: float
    negative_ci_low: float
    negative_ci_high: float
    neither_ci_low: float
    neither_ci_high: float
    positive_boot_ci_low: float | None  # rater-cluster bootstrap (percentile), respects raters
    positive_boot_ci_high: float | None
    decisive_n: int                    # positive + negative
    positive_among_decisive: float | None
    binom_p: float | None              # exact two-sided binomial test of positive vs negative, p=0.5
    binom_p_holm: float | None = None  # per-class rows: Holm over the classes; None on "all"


@dataclass
class Table6Result(JsonMixin):
    overall: AnswerShares
    per_class: list[AnswerShares]
    confidence: float
    n_boot: int
    seed: int
    screening: dict | None = None
    kind: str = "table6"
    methods: dict = field(default_factory=dict)


def _parse_answers(answers: Iterable) -> list[tuple[Any, Any, Any, str]]:
    parsed, seen = [], set()
    for index, record in enumerate(answers):
        rater, item, sound_class = (field_of(record, n, index, "answer") for n in ("rater", "item", "sound_class"))
        answer = field_of(record, "answer", index, "answer")
        if answer not in ANSWERS:
            raise StatsInputError(f"answer {index}: {answer!r} is not one of {ANSWERS}")
        if (rater, item) in seen:
            raise StatsInputError(f"answer {index}: rater {rater!r} answered item {item!r} twice")
        seen.add((rater, item))
        parsed.append((rater, item, sound_class, answer))
    if not parsed:
        raise StatsInputError("Table 6 needs at least one answer; got none")
    return parsed


def _shares(scope: str, rows, n_boot, confidence, rng) -> AnswerShares:
    n = len(rows)
    counts = {a: sum(1 for _, ans in rows if ans == a) for a in ANSWERS}
    cis = {a: proportion_confint(counts[a], n, alpha=1.0 - confidence, method="wilson") for a in ANSWERS}
    per_rater_positive, per_rater_n = defaultdict(int), defaultdict(int)
    for rater, answer in rows:
        per_rater_n[rater] += 1
        per_rater_positive[rater] += answer == "positive"
    keys = list(per_rater_n)
    boot = _cluster_bootstrap_ratio([per_rater_positive[k] for k in keys], [per_rater_n[k] for k in keys],
                                    n_boot, confidence, rng)
    decisive = counts["positive"] + counts["negative"]
    binom_p = _float(sps.binomtest(counts["positive"], decisive, 0.5).pvalue) if decisive else None
    return AnswerShares(
        scope=scope, n_answers=n, n_raters=len(keys),
        positive_count=counts["positive"], negative_count=counts["negative"], neither_count=counts["neither"],
        positive_share=counts["positive"] / n, negative_share=counts["negative"] / n,
        neither_share=counts["neither"] / n,
        positive_ci_low=float(cis["positive"][0]), positive_ci_high=float(cis["positive"][1]),
        negative_ci_low=float(cis["negative"][0]), negative_ci_high=float(cis["negative"][1]),
        neither_ci_low=float(cis["neither"][0]), neither_ci_high=float(cis["neither"][1]),
        positive_boot_ci_low=boot[0], positive_boot_ci_high=boot[1], decisive_n=decisive,
        positive_among_decisive=counts["positive"] / decisive if decisive else None, binom_p=binom_p)


def table6(answers: Iterable, seed: int = 0, *, n_boot: int = 2000, confidence: float = 0.95,
           screening: ScreeningReport | Mapping | None = None) -> Table6Result:
    """Paper Table 6: positive / negative / neither shares, overall and per sound class.

    answers: records with ``rater``, ``item``, ``sound_class``, ``answer`` (one of ANSWERS); one
    answer per (rater, item). Shares are count / n exactly (73 of 100 -> 0.73).
    """
    _check_confidence(confidence, n_boot)
    parsed = _parse_answers(answers)
    rng = np.random.default_rng(seed)
    overall = _shares("all", [(r, a) for r, _, _, a in parsed], n_boot, confidence, rng)
    by_class: dict[Any, list] = defaultdict(list)
    for rater, _, sound_class, answer in parsed:
        by_class[sound_class].append((rater, answer))
    per_class = [_shares(str(c), by_class[c], n_boot, confidence, rng) for c in sorted(by_class, key=str)]
    adjusted, _ = _holm([row.binom_p for row in per_class], 1.0 - confidence)
    for row, p in zip(per_class, adjusted):
        row.binom_p_holm = p
    if isinstance(screening, ScreeningReport):
        screening = screening.to_dict()
    return Table6Result(
        overall=overall, per_class=per_class, confidence=confidence, n_boot=n_boot, seed=seed,
        screening=dict(screening) if screening is not None else None,
        methods={
            "share_ci": "Wilson score interval (statsmodels proportion_confint), answers as independent",
            "positive_boot_ci": "percentile CI, raters resampled with replacement (scipy.stats.bootstrap)",
            "test": "exact two-sided binomial test (scipy.stats.binomtest), positive vs negative, "
                    "'neither' left out; per-class p-values Holm-corrected over classes",
        })
