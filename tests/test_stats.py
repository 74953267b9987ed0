"""Statistics: Student-t, paired tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rehabgym.stats import (
    mean_ci,
    mean_estimate,
    paired_t_test,
    slope_through_origin,
    spearman_estimate,
)


def test_student_t_matches_tables() -> None:
    mean, half = mean_ci(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]))
    assert mean == 5.5 and half == pytest.approx(2.262157 * 3.02765 / math.sqrt(10), abs=1e-4)
    assert mean_ci(np.array([2.0, np.nan]))[0] == 2.0 and math.isnan(mean_ci(np.array([2.0]))[1])
    test = paired_t_test(np.array([1, 2, 3, 4.0]), np.array([0.5, 1, 2.9, 3.0]))
    assert test.t == pytest.approx(2.98240, abs=1e-4)
    assert test.p == pytest.approx(0.05848, abs=1e-4)
    assert math.isnan(paired_t_test(np.array([1.0]), np.array([0.0])).p)
    exact = paired_t_test(np.array([2.0, 3.0]), np.array([1.0, 2.0]))  # no spread
    assert exact.t == math.inf and exact.p == 0.0


def test_the_scorecards_estimates_match_known_cases() -> None:
    assert spearman_estimate([1, 2, 3, 4, 5], [10, 20, 30, 40, 50]).value == pytest.approx(1.0)
    rho = spearman_estimate([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
    assert rho.value == pytest.approx(-1.0) and rho.excludes_zero(-1)
    assert math.isnan(spearman_estimate([1, 1, 1, 1], [1, 2, 3, 4]).value)
    est = mean_estimate(np.array([1.0, 2.0, 3.0, 4.0]))
    assert est.value == 2.5 and est.low == pytest.approx(2.5 - 3.182446 * 1.290994 / 2, 1e-5)
    assert est.excludes_zero(+1) and not est.excludes_zero(-1)
    slope, r2 = slope_through_origin(np.array([10.0, 20, 30, 40]), np.array([7.0, 14, 21, 28]))
    assert slope.value == pytest.approx(0.7) and r2 == pytest.approx(1.0)
