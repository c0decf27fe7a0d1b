"""Known-answer tests for the realism (HYPE-infinity) and pairwise (Bradley-Terry) tables: constructed
votes whose shares and strengths are worked out by hand, and intervals checked against a two-way
cluster-robust sandwich written out here in plain loops and against statsmodels."""
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from studies.pairwise import pairwise_table
from studies.realism import realism_table
from studies.records import StatsInputError


def sandwich_se(scores, bread, raters, items):
    """The CGM two-way cluster-robust SEs with CR1 factors and the one-way fallback, by loops: an
    implementation independent of studies.crossed."""
    n, k = scores.shape

    def meat(labels):
        groups = {}
        for v, g in enumerate(labels):
            groups[g] = groups.get(g, np.zeros(k)) + scores[v]
        total = sum(np.outer(s, s) for s in groups.values())
        g = len(groups)
        return g / (g - 1) * (n - 1) / (n - k) * bread @ total @ bread

    v_r, v_i, v_v = meat(raters), meat(items), meat(range(n))
    return np.sqrt(np.maximum(np.diag(v_r + v_i - v_v), np.maximum(np.diag(v_r), np.diag(v_i))))


# ---------------------------------------------------------------------------------- realism
def realism_votes():
    """3 raters; model A's fakes f1, f2, model B's fakes g1, g2, real photos p1, p2; every rater sees all.
    Answers "real" (R) / "fake" (F) chosen by hand:
        rater  f1 f2 | g1 g2 | p1 p2
        r1     R  F  | F  F  | R  R
        r2     R  R  | F  R  | R  F
        r3     F  F  | F  F  | F  R
    A's fakes called real: 3 of 6 = 0.5; B's: 1 of 6; reals called fake: 2 of 6 = 1/3.
    Errors: A (1/2 + 1/3) / 2 = 5/12; B (1/6 + 1/3) / 2 = 1/4.
    """
    grid = {"r1": "RF" "FF" "RR", "r2": "RR" "FR" "RF", "r3": "FF" "FF" "FR"}
    items = [("f1", "A"), ("f2", "A"), ("g1", "B"), ("g2", "B"), ("p1", None), ("p2", None)]
    return [{"rater": r, "item": item, "condition": c, "answer": "real" if a == "R" else "fake"}
            for r, answers in grid.items() for (item, c), a in zip(items, answers)]


def test_realism_shares_and_errors_are_the_hand_computed_fractions():
    result = realism_table(realism_votes(), ["A", "B"])
    a, b = result.rows
    assert (a.condition, a.fake_called_real, a.real_called_fake, a.error) == ("A", 0.5, pytest.approx(1 / 3),
                                                                              pytest.approx(5 / 12))
    assert (b.fake_called_real, b.error) == (pytest.approx(1 / 6), pytest.approx(1 / 4))
    assert (a.n_fake_votes, a.n_fake_items, a.n_raters) == (6, 2, 3)
    assert (result.real.n_votes, result.real.real_called_fake) == (6, pytest.approx(1 / 3))
    assert a.error_ci_df == 2  # min(3 raters, 4 items) - 1


def test_realism_intervals_are_the_two_way_cluster_robust_ones_written_out_by_hand():
    votes = realism_votes()
    result = realism_table(votes, ["A", "B"])
    for row in result.rows:
        mine = [v for v in votes if v["condition"] in (row.condition, None)]
        errors = [float(v["answer"] == ("fake" if v["condition"] is None else "real")) for v in mine]
        x = np.array([[1.0, 1.0 if v["condition"] else -1.0] for v in mine])
        coef = np.linalg.lstsq(x, errors, rcond=None)[0]
        assert coef[0] == pytest.approx(row.error, rel=1e-12)  # the intercept is the balanced error
        bread = np.linalg.inv(x.T @ x)
        scores = (np.asarray(errors) - x @ coef)[:, None] * x
        se = sandwich_se(scores, bread, [v["rater"] for v in mine], [v["item"] for v in mine])[0]
        half = sps.t.ppf(0.975, 2) * se
        assert (row.error_ci_low, row.error_ci_high) == pytest.approx((row.error - half, row.error + half), rel=1e-10)
        t = (row.error - 0.5) / se
        assert row.p_indistinguishable == pytest.approx(2 * sps.t.sf(abs(t), 2), rel=1e-9)
        fakes = [v for v in mine if v["condition"]]
        y = np.array([float(v["answer"] == "real") for v in fakes])
        scores = (y - y.mean())[:, None]
        se = sandwich_se(scores, np.array([[1 / len(y)]]), [v["rater"] for v in fakes], [v["item"] for v in fakes])[0]
        half = sps.t.ppf(0.975, 1) * se  # min(3 raters, 2 items) - 1
        assert (row.fake_ci_low, row.fake_ci_high) == pytest.approx((y.mean() - half, y.mean() + half), rel=1e-10)
    raw = [r.p_indistinguishable for r in result.rows]
    assert [r.p_indistinguishable_holm for r in result.rows] == pytest.approx(
        list(multipletests(raw, method="holm")[1]), rel=1e-12)


def test_realism_refuses_bad_input_with_a_clear_message():
    with pytest.raises(StatsInputError, match="not one of"):
        realism_table([{"rater": 1, "item": 1, "condition": "A", "answer": "maybe"}])
    with pytest.raises(StatsInputError, match="real photos"):
        realism_table([{"rater": 1, "item": 1, "condition": "A", "answer": "real"}])
    with pytest.raises(StatsInputError, match="twice"):
        realism_table([{"rater": 1, "item": 1, "condition": None, "answer": "real"}] * 2)
    with pytest.raises(StatsInputError, match="none"):
        realism_table([])


# ---------------------------------------------------------------------------------- pairwise
def pairwise_votes():
    """Three models whose observed win rates are exactly Bradley-Terry with strengths 0, -ln 2, -2 ln 2:
    A beats B 2/3 of the time, B beats C 2/3, A beats C 4/5 (= sigmoid(2 ln 2)). 30 votes per pair
    from 6 raters over 5 sounds, with ties counted half; the first model of each record is sometimes
    the other one (the table must turn it round)."""
    votes = []
    plan = {("A", "B"): (17, 7, 6), ("B", "C"): (17, 7, 6), ("A", "C"): (21, 3, 6)}  # a wins, b wins, ties
    for (a, b), (wins, losses, ties) in plan.items():
        answers = ["a"] * wins + ["b"] * losses + ["tie"] * ties
        rng = np.random.default_rng(len(votes))
        rng.shuffle(answers)
        for k, answer in enumerate(answers):
            rater, item = f"r{k % 6}", f"s{k // 6}"
            if k % 3 == 0:  # stored the other way round
                votes.append({"rater": rater, "item": item, "condition_a": b, "condition_b": a,
                              "answer": {"a": "b", "b": "a"}.get(answer, answer)})
            else:
                votes.append({"rater": rater, "item": item, "condition_a": a, "condition_b": b, "answer": answer})
    return votes


def test_pairwise_win_rates_and_strengths_are_the_hand_computed_values():
    result = pairwise_table(pairwise_votes(), ["A", "B", "C"])
    rates = {(p.condition_a, p.condition_b): p.a_win_rate for p in result.pairs}
    assert rates == pytest.approx({("A", "B"): 2 / 3, ("A", "C"): 0.8, ("B", "C"): 2 / 3})
    counts = {(p.condition_a, p.condition_b): (p.a_wins, p.b_wins, p.ties) for p in result.pairs}
    assert counts == {("A", "B"): (17, 7, 6), ("A", "C"): (21, 3, 6), ("B", "C"): (17, 7, 6)}
    strengths = {s.condition: s.strength for s in result.strengths}
    assert strengths == pytest.approx({"A": 0.0, "B": -math.log(2), "C": -2 * math.log(2)}, abs=1e-7)
    assert [s.rank for s in result.strengths] == [1, 2, 3]
    assert result.strengths[0].reference and result.strengths[0].ci_low is None


def test_pairwise_two_models_strength_is_the_logit_of_the_win_rate():
    votes = [{"rater": f"r{k % 4}", "item": f"s{k % 5}", "condition_a": "A", "condition_b": "B", "answer": a}
             for k, a in enumerate(["a"] * 12 + ["b"] * 4 + ["tie"] * 4)]  # A's win rate (12 + 2) / 20 = 0.7
    result = pairwise_table(votes, ["A", "B"])
    assert result.strengths[1].strength == pytest.approx(math.log(0.3 / 0.7), abs=1e-8)
    assert result.pairs[0].a_win_rate == pytest.approx(0.7)


def test_pairwise_strength_intervals_are_the_glm_two_way_sandwich_and_win_rate_tests_are_holm_adjusted():
    votes = pairwise_votes()
    result = pairwise_table(votes, ["A", "B", "C"])
    column = {"B": 0, "C": 1}
    x = np.zeros((len(votes), 2))
    for row, v in enumerate(votes):
        for name, sign in ((v["condition_a"], 1.0), (v["condition_b"], -1.0)):
            if name in column:
                x[row, column[name]] += sign
    y = np.array([{"a": 1.0, "b": 0.0, "tie": 0.5}[v["answer"]] for v in votes])
    fit = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    p = fit.predict(x)
    bread = np.linalg.inv((x * (p * (1 - p))[:, None]).T @ x)
    se = sandwich_se((y - p)[:, None] * x, bread, [v["rater"] for v in votes], [v["item"] for v in votes])
    half = sps.t.ppf(0.975, 4) * se  # min(6 raters, 5 items) - 1
    assert result.df == 4
    for s in result.strengths[1:]:
        k = column[s.condition]
        assert (s.ci_low, s.ci_high) == pytest.approx((fit.params[k] - half[k], fit.params[k] + half[k]), rel=1e-6)
    raw = [pair.p_value for pair in result.pairs]
    assert all(0 < p_value < 1 for p_value in raw)
    assert [pair.p_holm for pair in result.pairs] == pytest.approx(list(multipletests(raw, method="holm")[1]))


def test_pairwise_a_model_that_always_wins_has_no_finite_strength_but_keeps_its_win_rate():
    votes = [{"rater": f"r{k % 3}", "item": f"s{k % 4}", "condition_a": "A", "condition_b": "B", "answer": "a"}
             for k in range(12)]
    result = pairwise_table(votes, ["A", "B"])
    assert result.strengths[1].strength is None and result.df is None
    assert result.pairs[0].a_win_rate == 1.0


def test_pairwise_refuses_bad_input():
    good = {"rater": 1, "item": 1, "condition_a": "A", "condition_b": "B", "answer": "a"}
    with pytest.raises(StatsInputError, match="not one of"):
        pairwise_table([{**good, "answer": "left"}])
    with pytest.raises(StatsInputError, match="itself"):
        pairwise_table([{**good, "condition_b": "A"}])
    with pytest.raises(StatsInputError, match="not in the order"):
        pairwise_table([good], ["A"])
