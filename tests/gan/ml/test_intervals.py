"""Known answers for the one module of intervals (gan/ml/intervals.py)."""
import math

import numpy as np
import pytest

from gan.ml.intervals import (bootstrap_ratio_interval, difference_interval, mean_half_width, mean_interval,
                              wilson_interval)


def test_wilson_known_answer():
    # 8 of 10: Wilson 95% (0.4902, 0.9433) (Newcombe 1998, method 3)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    low90, high90 = wilson_interval(8, 10, confidence=0.90)
    assert low < low90 < high90 < high
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_t_interval_known_answer():
    # [1, 2, 3]: mean 2, sd 1, t(0.975, 2) = 4.302653 -> half 4.302653 / sqrt(3) = 2.484138
    mean, (low, high) = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and high - mean == pytest.approx(2.484138, abs=1e-6) and mean - low == pytest.approx(2.484138,
                                                                                                          abs=1e-6)
    assert mean_half_width(np.array([1.0, 2.0, 3.0])) == pytest.approx(2.484138, abs=1e-6)
    assert mean_interval([5.0]) == (5.0, None) and math.isnan(mean_half_width([5.0]))


def test_welch_known_answer():
    # var of each mean 1/3, se sqrt(2/3), dof 4, t(0.975, 4) = 2.776445 -> half 2.266958
    diff, (low, high) = difference_interval([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert diff == -3.0 and high - diff == pytest.approx(2.266958, abs=1e-6) and diff - low == pytest.approx(2.266958,
                                                                                                             abs=1e-6)
    assert difference_interval([1.0], [2.0, 3.0]) == (-1.5, None)
    assert difference_interval([2.0, 2.0], [1.0, 1.0]) == (1.0, (1.0, 1.0))


def test_bootstrap_ratio():
    rng = np.random.default_rng(0)
    assert bootstrap_ratio_interval([3, 2, 4], [3, 2, 4], 200, 0.95, rng) == (1.0, 1.0)  # every vote agrees
    low, high = bootstrap_ratio_interval([1, 2, 3, 4, 5, 0], [5] * 6, 1000, 0.95, rng)
    assert low < 15 / 30 < high and 0 <= low and high <= 1
    with pytest.raises(ValueError):
        bootstrap_ratio_interval([1], [1], 200, 0.95, rng)
