"""A reduced run of bench/study_kinds_coverage.py: the realism and pairwise intervals cover the truth
about 95% of the time, the planner predicts the width it recommends, and stopping by precision keeps
the coverage. Seeded, so the figures are fixed; the full 500-study run is in docs/results."""
import numpy as np
import pytest

from studies import simulation
from studies.planning import StoppingRule, predicted_variance, variance_components
from studies.records import StatsInputError


def test_realism_intervals_cover_the_truth_95_percent_of_500_studies():
    result = simulation.realism_coverage(n_studies=500, seed=1)
    for name, row in result.items():
        assert 0.93 <= row["coverage"] <= 0.97, (name, row)


def test_realism_naive_intervals_would_not_cover():
    """The check can fail: intervals that ignore raters and items (votes as independent) cover less."""
    errors, raters, items, kind = simulation.simulate_realism(500, 16, 16, 24, seed=1)
    fakes = kind == 0
    y = errors[:, fakes]
    half = 1.96 * y.std(axis=1, ddof=1) / np.sqrt(y.shape[1])
    truth = simulation.RealismPopulation().truth(simulation.RealismPopulation().fake_mu[0])
    assert np.mean(np.abs(y.mean(axis=1) - truth) <= half) < 0.9


def test_pairwise_intervals_cover_the_truth_in_200_studies():
    result = simulation.pairwise_coverage(n_studies=200, seed=2)
    for name, row in result.items():
        assert 0.91 <= row["coverage"] <= 0.99, (name, row)  # 200 studies: a coverage's own margin is +-0.03


def test_planner_predicts_the_width_of_the_study_it_recommends():
    ratios = [simulation.planner_check(target_half_width=0.09, n_studies=300, seed=100 + k)["ratio"] for k in range(5)]
    assert abs(np.median(ratios) - 1) <= 0.15, ratios


def test_planner_width_formula_matches_the_measured_width_within_15_percent():
    for row in simulation.planner_formula_check(n_raters_list=(8, 16, 32), n_studies=300, seed=4):
        assert abs(row["ratio"] - 1) <= 0.15, row


def test_stopping_by_precision_keeps_the_coverage():
    result = simulation.stopping_coverage(n_studies=200, step=4, seed=3)
    assert all(0.91 <= c <= 0.99 for c in result["coverage_per_model"]), result
    assert result["raters_at_stop"]["min"] >= 6


def test_variance_components_recover_a_known_crossed_population():
    rng = np.random.default_rng(7)
    raters, items = np.meshgrid(np.arange(60), np.arange(60), indexing="ij")
    raters, items = raters.ravel(), items.ravel()
    y = rng.normal(0, 0.6, 60)[raters] + rng.normal(0, 0.4, 60)[items] + rng.normal(0, 1.0, raters.size)
    c = variance_components(y, raters, items)
    assert c.rater == pytest.approx(0.36, rel=0.35)
    assert c.item == pytest.approx(0.16, rel=0.45)
    assert c.vote == pytest.approx(1.0, rel=0.1)
    # the balanced-design variance of the mean: rater / R + item / I + vote / N
    assert predicted_variance(c, 60, 60, 60) == pytest.approx(c.rater / 60 + c.item / 60 + c.vote / 3600)


def test_stopping_rule_decides_on_the_named_intervals_only():
    rule = StoppingRule.from_params({"half_width": 0.05, "names": ["error:A"], "min_raters": 3})
    assert rule.decide({"error:A": (0.40, 0.49), "error:B": (0.0, 1.0)}, n_raters=4)["stop"]
    assert not rule.decide({"error:A": (0.40, 0.51)}, n_raters=4)["stop"]
    assert not rule.decide({"error:A": (0.40, 0.49)}, n_raters=2)["stop"]  # too few raters yet
    assert not rule.decide({"error:B": (0.40, 0.41)}, n_raters=9)["stop"]  # the named one is missing
    assert StoppingRule.from_params(None) is None
    with pytest.raises(StatsInputError):
        StoppingRule.from_params({"half_width": "wide"})
