"""Known-answer tests for studies.stats: the paper's Tables 5 and 6, checked against
scipy / statsmodels / krippendorff called independently here (never the module's internals)."""
import json
import math
from collections import defaultdict
from itertools import combinations

import krippendorff
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from studies.stats import (
    ScreeningRule, StatsInputError, Vote, apply_screening, screen_raters, table5, table6,
)

LADDER = ["cGAN+SN", "+hinge", "+projection", "+aux classifier"]
PAPER_MEANS = [1.90, 2.74, 3.16, 3.70]          # paper Table 5
RATERS, ITEMS = 10, 5                           # ten people, as in the paper


def votes_with_means(means, n_raters=RATERS, n_items=ITEMS, seed=1):
    """Votes whose per-condition mean is exactly `means` (sum = mean * n), with rater effects."""
    rng = np.random.default_rng(seed)
    votes = []
    rater_bias = rng.normal(0, 0.5, n_raters)
    for condition, mean in zip(LADDER, means):
        n = n_raters * n_items
        target = round(mean * n)
        grid = np.clip(np.rint(mean + rater_bias[:, None] + rng.normal(0, 0.8, (n_raters, n_items))), 1, 5)
        while grid.sum() != target:  # nudge random cells until the sum is exact, staying in 1-5
            r, i = rng.integers(n_raters), rng.integers(n_items)
            step = 1 if grid.sum() < target else -1
            if 1 <= grid[r, i] + step <= 5:
                grid[r, i] += step
        votes += [{"rater": f"r{r}", "condition": condition, "item": f"s{i}", "score": int(grid[r, i])}
                  for r in range(n_raters) for i in range(n_items)]
    return votes


@pytest.fixture(scope="module")
def paper_votes():
    return votes_with_means(PAPER_MEANS)


@pytest.fixture(scope="module")
def paper_table5(paper_votes):
    return table5(paper_votes, LADDER)


def test_table5_reproduces_the_paper_means_exactly(paper_votes, paper_table5):
    assert [row.condition for row in paper_table5.conditions] == LADDER
    assert [row.mean for row in paper_table5.conditions] == PAPER_MEANS  # exact, not approx
    for row in paper_table5.conditions:
        scores = [v["score"] for v in paper_votes if v["condition"] == row.condition]
        assert (row.n_votes, row.n_raters, row.n_items) == (50, 10, 5)
        assert row.sd == pytest.approx(np.std(scores, ddof=1), rel=1e-12)
    assert paper_table5.n_votes == 200 and paper_table5.n_raters == 10


def test_rater_only_ci_matches_statsmodels_and_the_cr1_formula(paper_votes, paper_table5):
    for row in paper_table5.conditions:
        mine = [v for v in paper_votes if v["condition"] == row.condition]
        y = np.array([v["score"] for v in mine], float)
        groups = np.array([int(v["rater"][1:]) for v in mine])
        fit = sm.OLS(y, np.ones_like(y)).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        low, high = fit.conf_int(alpha=0.05)[0]
        assert (row.rater_ci_low, row.rater_ci_high) == pytest.approx((low, high), rel=1e-12)
        # CR1 by hand: G/(G-1) * (N-1)/(N-1) * sum_g (sum of residuals in g)^2 / N^2, t with G-1 df
        residual_sums = np.array([np.sum(y[groups == g] - y.mean()) for g in range(RATERS)])
        se = math.sqrt(RATERS / (RATERS - 1) * np.sum(residual_sums ** 2) / len(y) ** 2)
        half = sps.t.ppf(0.975, RATERS - 1) * se
        assert (row.rater_ci_low, row.rater_ci_high) == pytest.approx((y.mean() - half, y.mean() + half))


def _two_way(y, raters, items, x=None):
    """statsmodels' own two-way cluster-robust covariance (Cameron-Gelbach-Miller) for OLS, with the
    documented fallback: a variance below either one-way variance is raised to the larger one."""
    from statsmodels.stats.sandwich_covariance import cov_cluster_2groups
    x = np.ones((len(y), 1)) if x is None else x
    fit = sm.OLS(np.asarray(y, float), x).fit()
    codes = lambda labels: np.unique(np.asarray(labels).astype(str), return_inverse=True)[1]  # noqa: E731
    both, by_rater, by_item = cov_cluster_2groups(fit, codes(raters), codes(items))
    return fit, np.maximum(both, np.maximum(by_rater, by_item))


def test_crossed_ci_is_statsmodels_two_way_cluster_robust_ci(paper_votes, paper_table5):
    for row in paper_table5.conditions:
        mine = [v for v in paper_votes if v["condition"] == row.condition]
        fit, cov = _two_way([v["score"] for v in mine], [v["rater"] for v in mine], [v["item"] for v in mine])
        se = math.sqrt(cov[0, 0])
        half = sps.t.ppf(0.975, min(RATERS, ITEMS) - 1) * se
        assert row.ci_df == ITEMS - 1
        assert (row.ci_low, row.ci_high) == pytest.approx((row.mean - half, row.mean + half), rel=1e-10)
        assert row.ci_low < row.mean < row.ci_high
        # wider than clustering by rater alone: the items' own effect is in it
        assert row.ci_high - row.ci_low >= row.rater_ci_high - row.rater_ci_low - 1e-12


def test_crossed_pairwise_test_is_the_two_way_robust_t_test_on_the_difference(paper_votes):
    result = table5(paper_votes, LADDER)
    assert result.pairwise_test == "crossed"
    for row in result.pairwise:
        both = [v for v in paper_votes if v["condition"] in (row.condition_a, row.condition_b)]
        x = np.column_stack([np.ones(len(both)), [v["condition"] == row.condition_b for v in both]])
        fit, cov = _two_way([v["score"] for v in both], [v["rater"] for v in both], [v["item"] for v in both], x)
        t = fit.params[1] / math.sqrt(cov[1, 1])
        assert row.mean_difference == pytest.approx(fit.params[1], rel=1e-12)
        assert row.statistic == pytest.approx(t, rel=1e-9)
        assert row.p_value == pytest.approx(2 * sps.t.sf(abs(t), ITEMS - 1), rel=1e-9)
    assert all(row.p_holm_neighbours is not None for row in result.pairwise if row.neighbours)


def _rater_means(votes):
    sums = defaultdict(list)
    for v in votes:
        sums[(v["rater"], v["condition"])].append(v["score"])
    return {key: np.mean(s) for key, s in sums.items()}


@pytest.mark.parametrize("method", ["wilcoxon", "ttest"])
def test_pairwise_tests_and_holm_match_scipy_and_multipletests(paper_votes, method):
    result = table5(paper_votes, LADDER, pairwise_test=method)
    means = _rater_means(paper_votes)
    raters = sorted({v["rater"] for v in paper_votes})
    expected = {}
    for a, b in combinations(LADDER, 2):
        xa = [means[(r, a)] for r in raters]
        xb = [means[(r, b)] for r in raters]
        test = sps.wilcoxon(xb, xa) if method == "wilcoxon" else sps.ttest_rel(xb, xa)
        expected[(a, b)] = test.pvalue
    pairs = list(expected)
    holm_all = dict(zip(pairs, multipletests(list(expected.values()), method="holm")[1]))
    neighbours = [(a, b) for a, b in zip(LADDER, LADDER[1:])]
    holm_nb = dict(zip(neighbours, multipletests([expected[p] for p in neighbours], method="holm")[1]))
    assert len(result.pairwise) == 6
    for row in result.pairwise:
        pair = (row.condition_a, row.condition_b)
        assert row.neighbours == (pair in neighbours)
        assert row.n_raters_paired == 10
        assert row.p_value == pytest.approx(expected[pair], rel=1e-12)
        assert row.p_holm_all == pytest.approx(holm_all[pair], rel=1e-12)
        if row.neighbours:
            assert row.p_holm_neighbours == pytest.approx(holm_nb[pair], rel=1e-12)
        else:
            assert row.p_holm_neighbours is None
        assert row.mean_difference == pytest.approx(
            np.mean([means[(r, pair[1])] - means[(r, pair[0])] for r in raters]))


def test_krippendorff_alpha_is_one_for_perfect_agreement():
    votes = [{"rater": r, "condition": c, "item": i, "score": 1 + (k + i) % 5}
             for r in range(4) for k, c in enumerate("AB") for i in range(5)]
    assert table5(votes, "AB").krippendorff_alpha == 1.0


def test_krippendorff_alpha_matches_the_package_on_a_matrix_built_here(paper_votes, paper_table5):
    # drop some votes so the matrix has missing cells, as real studies do
    votes = [v for n, v in enumerate(paper_votes) if n % 7]
    units = sorted({(v["condition"], v["item"]) for v in votes})
    raters = sorted({v["rater"] for v in votes})
    matrix = np.full((len(raters), len(units)), np.nan)
    for v in votes:
        matrix[raters.index(v["rater"]), units.index((v["condition"], v["item"]))] = v["score"]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal",
                                  value_domain=[1, 2, 3, 4, 5])
    result = table5(votes, LADDER)
    assert result.krippendorff_alpha == pytest.approx(expected, rel=1e-12)
    assert result.alpha_units == len(units)
    assert 0 < paper_table5.krippendorff_alpha < 1


def test_alpha_is_undefined_without_a_unit_rated_twice():
    votes = [{"rater": r, "condition": "A", "item": r, "score": 1 + r % 5} for r in range(5)]
    result = table5(votes)
    assert result.krippendorff_alpha is None and "two raters" in result.alpha_note


def test_a_condition_without_votes_gets_an_empty_row_and_no_tests():
    votes = votes_with_means(PAPER_MEANS[:3])
    result = table5(votes, LADDER)
    last = result.conditions[3]
    assert (last.n_votes, last.mean, last.ci_low, last.rater_ci_low) == (0, None, None, None)
    untested = [p for p in result.pairwise if "+aux classifier" in (p.condition_a, p.condition_b)]
    assert all(p.p_value is None and p.p_holm_all is None for p in untested)
    assert all(p.p_holm_all is not None for p in result.pairwise if p not in untested)


def test_results_serialise_to_strict_json(paper_table5):
    text = json.dumps(paper_table5.to_dict(), allow_nan=False)
    assert json.loads(text)["conditions"][0]["mean"] == 1.90


def test_votes_may_be_objects_with_attributes():
    votes = [Vote(rater=r, condition="A", item=i, score=2 + (r + i) % 2) for r in range(3) for i in range(4)]
    assert table5(votes).conditions[0].mean == 2.5


@pytest.mark.parametrize("score, message", [
    (0, "outside 1-5"), (7, "outside 1-5"), (2.5, "whole number"), ("3", "whole number"),
    (True, "whole number"), (float("nan"), "whole number"),
])
def test_bad_scores_are_rejected_with_a_clear_message(score, message):
    with pytest.raises(ValueError, match=message):
        table5([{"rater": 1, "condition": "A", "item": 1, "score": score}])


def test_other_bad_table5_input():
    good = {"rater": 1, "condition": "A", "item": 1, "score": 3}
    with pytest.raises(ValueError, match="at least one vote"):
        table5([])
    with pytest.raises(ValueError, match="twice"):
        table5([good, dict(good, score=4)])
    with pytest.raises(ValueError, match="not in condition_order"):
        table5([good], ["B"])
    with pytest.raises(ValueError, match="no 'score' field"):
        table5([{"rater": 1, "condition": "A", "item": 1}])
    with pytest.raises(ValueError, match="pairwise_test"):
        table5([good], pairwise_test="anova")
    with pytest.raises(ValueError, match="confidence"):
        table5([good], confidence=95)
    assert issubclass(StatsInputError, ValueError)


# ------------------------------------------------------------------------------- Table 6
def answers_with_counts(counts_by_class, n_raters=RATERS):
    """Answers dealt round-robin to raters, so raters differ in their mix of answers."""
    answers, item = [], 0
    for sound_class, counts in counts_by_class.items():
        pool = [a for a, n in counts.items() for _ in range(n)]
        for answer in pool:
            answers.append({"rater": f"r{item % n_raters}", "item": f"t{item}",
                            "sound_class": sound_class, "answer": answer})
            item += 1
    return answers


PAPER_COUNTS = {"dog": {"positive": 40, "negative": 4, "neither": 6},
                "drum": {"positive": 33, "negative": 7, "neither": 10}}   # 73 / 11 / 16 of 100


def test_table6_reproduces_the_paper_shares_exactly():
    result = table6(answers_with_counts(PAPER_COUNTS))
    o = result.overall
    assert (o.positive_share, o.negative_share, o.neither_share) == (0.73, 0.11, 0.16)
    assert (o.positive_count, o.negative_count, o.neither_count, o.n_answers) == (73, 11, 16, 100)
    assert o.n_raters == 10 and o.decisive_n == 84


def test_table6_wilson_cis_and_binomial_test_match_statsmodels_and_scipy():
    o = table6(answers_with_counts(PAPER_COUNTS)).overall
    for name, count in (("positive", 73), ("negative", 11), ("neither", 16)):
        low, high = proportion_confint(count, 100, alpha=0.05, method="wilson")
        assert (getattr(o, f"{name}_ci_low"), getattr(o, f"{name}_ci_high")) == pytest.approx((low, high))
        # the Wilson score interval by its formula
        p, z = count / 100, sps.norm.ppf(0.975)
        centre = (p + z * z / 200) / (1 + z * z / 100)
        half = z / (1 + z * z / 100) * math.sqrt(p * (1 - p) / 100 + z * z / 40000)
        assert getattr(o, f"{name}_ci_low") == pytest.approx(centre - half, rel=1e-9)
    assert o.binom_p == pytest.approx(sps.binomtest(73, 84, 0.5).pvalue, rel=1e-12)
    assert o.positive_among_decisive == 73 / 84


def test_table6_per_class_split_and_holm():
    result = table6(answers_with_counts(PAPER_COUNTS))
    by_class = {row.scope: row for row in result.per_class}
    assert (by_class["dog"].positive_count, by_class["dog"].negative_count, by_class["dog"].neither_count) == (40, 4, 6)
    assert by_class["drum"].positive_share == 33 / 50
    raw = [sps.binomtest(40, 44).pvalue, sps.binomtest(33, 40).pvalue]
    assert [by_class[c].binom_p for c in ("dog", "drum")] == pytest.approx(raw, rel=1e-12)
    assert [by_class[c].binom_p_holm for c in ("dog", "drum")] == pytest.approx(
        multipletests(raw, method="holm")[1], rel=1e-12)
    assert result.overall.binom_p_holm is None


def test_table6_rater_cluster_bootstrap_is_seeded_and_brackets_all_three_shares():
    answers = answers_with_counts(PAPER_COUNTS)
    a, b, c = table6(answers, seed=3), table6(answers, seed=3), table6(answers, seed=4)
    for name, share in (("positive", 0.73), ("negative", 0.11), ("neither", 0.16)):
        interval = (getattr(a.overall, f"{name}_boot_ci_low"), getattr(a.overall, f"{name}_boot_ci_high"))
        assert interval == (getattr(b.overall, f"{name}_boot_ci_low"), getattr(b.overall, f"{name}_boot_ci_high"))
        assert interval[0] <= share <= interval[1]
        crossed = (getattr(a.overall, f"{name}_crossed_ci_low"), getattr(a.overall, f"{name}_crossed_ci_high"))
        assert crossed[0] < share < crossed[1]
    assert a.overall.positive_boot_ci_low != c.overall.positive_boot_ci_low
    json.dumps(a.to_dict(), allow_nan=False)


def test_table6_rater_level_and_crossed_tests():
    answers = answers_with_counts(PAPER_COUNTS)
    o = table6(answers).overall
    per_rater = defaultdict(list)
    for a in answers:
        per_rater[a["rater"]].append(a["answer"])
    differences = [(x.count("positive") - x.count("negative")) / len(x) for x in per_rater.values()]
    expected = sps.wilcoxon(differences)
    assert (o.rater_test_statistic, o.rater_test_p) == pytest.approx((expected.statistic, expected.pvalue))
    y = [(a["answer"] == "positive") - (a["answer"] == "negative") for a in answers]
    fit, cov = _two_way(y, [a["rater"] for a in answers], [a["item"] for a in answers])
    t = np.mean(y) / math.sqrt(cov[0, 0])
    assert o.crossed_test_p == pytest.approx(2 * sps.t.sf(abs(t), RATERS - 1), rel=1e-9)
    assert o.n_items == 100


def test_table6_rater_level_test_is_not_fooled_by_many_answers_from_few_raters():
    """Six busy raters who mostly say positive, four who say negative: pooled answers look decisive."""
    answers = []
    for r in range(10):
        lean = ["positive"] * 28 + ["negative"] * 2 if r < 6 else ["negative"] * 10
        answers += [{"rater": r, "item": f"{r}-{k}", "sound_class": "c", "answer": a} for k, a in enumerate(lean)]
    o = table6(answers).overall
    assert o.binom_p < 1e-6           # answers treated as independent: "certain"
    assert o.rater_test_p > 0.2       # raters as the unit: 6 for, 4 strongly against
    assert o.crossed_test_p > 1000 * o.binom_p


def test_table6_bad_input():
    good = {"rater": 1, "item": 1, "sound_class": "dog", "answer": "positive"}
    with pytest.raises(ValueError, match="not one of"):
        table6([dict(good, answer="left")])
    with pytest.raises(ValueError, match="at least one answer"):
        table6([])
    with pytest.raises(ValueError, match="twice"):
        table6([good, dict(good, answer="neither")])


# ------------------------------------------------------------------------------ screening
CATCH = ([{"rater": "r0", "passed": p} for p in (True, True, True, True, False)]      # 80 %
         + [{"rater": "r1", "passed": p} for p in (True, False, False, True, False)]  # 40 %
         + [{"rater": f"r{r}", "passed": True} for r in range(3, RATERS)])           # r2: none


def test_screen_raters_gives_reasons():
    rule = ScreeningRule(min_catch_accuracy=0.8, min_catch_trials=1, manual_exclusions=("r9",))
    result = screen_raters(CATCH, rule, raters=[f"r{r}" for r in range(RATERS)])
    reasons = {e.rater: e.reason for e in result.excluded}
    assert set(reasons) == {"r1", "r2", "r9"}
    assert "passed 2 of 5" in reasons["r1"] and "40%" in reasons["r1"]
    assert "answered 0 catch" in reasons["r2"]
    assert "researcher" in reasons["r9"]
    assert "r0" in result.kept and len(result.kept) == 7


def test_apply_screening_reports_raters_and_votes_before_and_after(paper_votes):
    screened = apply_screening(paper_votes, CATCH, ScreeningRule(min_catch_accuracy=0.8))
    report = screened.report
    assert (report.raters_before, report.votes_before) == (10, 200)
    assert (report.raters_after, report.votes_after) == (8, 160)   # r1 and r2 dropped, 20 votes each
    assert {v["rater"] for v in screened.records} == {f"r{r}" for r in (0, *range(3, 10))}
    result = table5(screened.records, LADDER, screening=report)
    stated = result.to_dict()["screening"]
    assert (stated["raters_before"], stated["raters_after"], stated["votes_before"], stated["votes_after"]) == \
           (10, 8, 200, 160)
    assert result.n_votes == 160


def test_screening_rule_validation():
    with pytest.raises(ValueError, match="min_catch_accuracy"):
        ScreeningRule(min_catch_accuracy=80)
    with pytest.raises(ValueError, match="min_catch_trials"):
        ScreeningRule(min_catch_trials=-1)
    with pytest.raises(ValueError, match="True or False"):
        screen_raters([{"rater": 1, "passed": 1}], ScreeningRule())
    kept = screen_raters([], ScreeningRule(min_catch_trials=0), raters=["a"]).kept
    assert kept == ["a"]   # no catch trials and none required: no evidence against the rater


def test_degenerate_paired_t_test_stays_json_safe():
    # every rater scores B exactly one point above A: t is infinite, p is 0, JSON must stay valid
    votes = [{"rater": r, "condition": c, "item": i, "score": (2 if c == "A" else 3) + r % 2}
             for r in range(4) for c in "AB" for i in range(2)]
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        row = table5(votes, "AB", pairwise_test="ttest").pairwise[0]
    assert (row.statistic, row.p_value, row.mean_difference) == (None, 0.0, 1.0)
    json.dumps(table5(votes, "AB").to_dict(), allow_nan=False)
