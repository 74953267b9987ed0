"""Statistics: Student-t, paired tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rehabgym.stats import (
    betainc,
    mean_estimate,
    paired_t_test,
    slope_through_origin,
    spearman_estimate,
    t_cdf,
    t_ppf,
)


def test_student_t_matches_tables() -> None:
    assert t_ppf(0.975, 9) == pytest.approx(2.262157, abs=1e-5)
    assert t_ppf(0.975, 1) == pytest.approx(12.7062, abs=1e-3)
    assert t_cdf(2.0, 5) == pytest.approx(0.949030, abs=1e-6)
    assert t_cdf(0.0, 3) == pytest.approx(0.5)
    assert betainc(2.0, 3.0, 0.4) == pytest.approx(0.5248, abs=1e-4)
    test = paired_t_test(np.array([1, 2, 3, 4.0]), np.array([0.5, 1, 2.9, 3.0]))
    assert test.t == pytest.approx(2.98240, abs=1e-4)
    assert test.p == pytest.approx(0.05848, abs=1e-4)
    assert math.isnan(paired_t_test(np.array([1.0]), np.array([0.0])).p)


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
