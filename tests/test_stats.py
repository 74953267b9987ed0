"""Statistics: Student-t, paired tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rehabgym.stats import betainc, paired_t_test, t_cdf, t_ppf


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
