"""Statistics: Student-t, paired tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rehabgym.stats import (
    mean_ci,
    mean_estimate,
    paired_t_test,
    ratio_estimate,
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


def test_ancova_finds_an_arm_effect_adjusted_for_baseline_and_no_effect_where_none() -> None:
    from rehabgym.stats import ancova

    rng = np.random.default_rng(1)
    n = 60
    arms = np.repeat(["control", "better", "same"], n)
    baseline = rng.uniform(20, 80, 3 * n)
    effect = np.select([arms == "better"], [4.0], 0.0)
    final = 10 + 0.9 * baseline + effect + rng.normal(0, 2.0, 3 * n)
    effects, sd = ancova(final, baseline, arms, "control")
    by = {e.arm: e for e in effects}
    assert list(by) == ["better", "same"]
    assert by["better"].effect.low < 4.0 < by["better"].effect.high
    assert by["better"].effect.excludes_zero(+1) and by["better"].p_holm < 0.001
    assert by["same"].effect.low < 0 < by["same"].effect.high and by["same"].p_holm > 0.05
    assert by["same"].p_holm >= by["same"].effect.p
    assert sd == pytest.approx(2.0, rel=0.2)  # the noise, not the baseline's spread
    # reversed: the effect's sign follows
    flipped, _ = ancova(final - 2 * effect, baseline, arms, "control")
    assert flipped[0].effect.excludes_zero(-1)
    with pytest.raises(ValueError, match="control"):
        ancova(final, baseline, arms, "placebo")
    # a control arm of the design that no patient was allocated to: every effect NaN
    treated = arms != "control"
    empty, sd = ancova(final[treated], baseline[treated], arms[treated], "control",
                       ("control", "better", "same"))
    assert [e.arm for e in empty] == ["better", "same"] and math.isnan(sd)
    assert all(math.isnan(e.effect.value) and e.n_control == 0 for e in empty)
    with pytest.raises(ValueError, match="placebo"):
        ancova(final, baseline, arms, "placebo", ("control", "better", "same"))


def test_responder_rates_and_sample_size_match_published_values() -> None:
    from rehabgym.stats import rate_difference, responder_rate, sample_size

    half = responder_rate(np.array([True] * 5 + [False] * 5))
    assert half.value == 0.5
    assert (half.low, half.high) == pytest.approx((0.2366, 0.7634), abs=1e-4)  # Wilson
    diff = rate_difference(responder_rate(np.array([True] * 10 + [False] * 10)),
                           responder_rate(np.array([True] * 5 + [False] * 15)))
    assert diff.value == pytest.approx(0.25) and diff.low < 0 < diff.high
    none = responder_rate(np.zeros(8, dtype=bool))
    assert rate_difference(none, none).p == 1.0
    # Cohen's d = 0.5 at 80 % power: 64 per arm (two-sided t-test), one more for the covariate
    assert sample_size(5.0, 10.0) == 65
    assert sample_size(10.0, 10.0) < sample_size(5.0, 10.0)
    with pytest.raises(ValueError, match="difference"):
        sample_size(0.0, 1.0)


def test_ratio_of_paired_means_brackets_the_truth_and_tests_against_one() -> None:
    rng = np.random.default_rng(0)
    b = rng.uniform(10, 30, 40)
    half = ratio_estimate(0.5 * b + rng.normal(0, 1, 40), b)
    assert half.value == pytest.approx(0.5, abs=0.03) and half.high < 1 and half.p < 0.01
    same = ratio_estimate(b + rng.normal(0, 1, 40), b)
    assert same.low < 1 < same.high and same.p > 0.05
    assert math.isnan(ratio_estimate(np.ones(3), np.zeros(3)).value)  # no deficit to divide by
