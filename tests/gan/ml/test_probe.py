"""The linear-probe ceiling and the volume-change measure (pure functions)."""
import numpy as np
import pytest

from gan.ml.metrics import MetricInputError, volume_change
from gan.ml.probe import linear_probe, wilson_interval


def test_linear_probe_scores_separable_and_shuffled_sets():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 40)
    features = rng.normal(0, 1, (120, 5)) + 4 * np.eye(5)[labels]
    test = rng.normal(0, 1, (60, 5)) + 4 * np.eye(5)[np.repeat([0, 1, 2], 20)]
    out = linear_probe(features, labels, {"test": (test, np.repeat([0, 1, 2], 20)),
                                          "wrong": (test, np.repeat([1, 2, 0], 20))})
    assert out["test"]["accuracy"] > 0.95 and out["wrong"]["accuracy"] < 0.1
    assert out["test"]["n"] == 60 and out["test"]["ci"][0] < out["test"]["accuracy"] <= out["test"]["ci"][1] + 1e-9
    with pytest.raises(ValueError, match="at least 2 classes"):
        linear_probe(features, np.zeros(120), {})


def test_wilson_interval_matches_the_formula():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)


def test_volume_change_grows_with_distance_from_the_original():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 200, (10, 8, 8, 3)).astype(np.uint8)
    images = {v: np.clip(base.astype(int) + int(40 * abs(np.log(v))), 0, 255).astype(np.uint8)
              for v in (0.5, 1.0, 2.0, 3.0)}
    out = volume_change(images)
    assert out["per_volume"][1.0]["mean"] == 0.0
    assert out["per_volume"][3.0]["mean"] > out["per_volume"][2.0]["mean"] > 0
    assert out["spearman_rho"] > 0.8 and out["n_sounds"] == 10
    with pytest.raises(MetricInputError, match="reference volume"):
        volume_change({2.0: base})
