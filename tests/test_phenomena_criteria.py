"""Each row's criterion on synthetic inputs: it passes with the effect, and fails without it
and with it reversed (so a row that passes says something about the patient)."""

from __future__ import annotations

import numpy as np
import pytest

from rehabgym.cortex.lesion import Lesion
from rehabgym.phenomena import ValidateConfig, threshold
from rehabgym.phenomena import challenge as ch
from rehabgym.phenomena import natural_history as nh
from rehabgym.phenomena import therapy as th
from rehabgym.phenomena.registry import registered
from rehabgym.phenomena.therapist import compare_finals, therapist_row
from rehabgym.phenomena.therapy import TherapyResult

CFG = ValidateConfig()
P, DAYS = 40, 60
RNG = np.random.default_rng(0)
RADIUS = RNG.uniform(0.05, 0.75, P)
CST = RNG.uniform(0.0, 0.5, P)
LESIONS = [Lesion(focal_radius=r, corticospinal_fraction=c) for r, c in zip(RADIUS, CST)]
EFFECTS = ("effect", "none", "reversed")


def verdict(row) -> bool:
    """The row's verdict, checked against its margin (> 0 exactly when it passes)."""
    assert row.passed == (row.margin > 0), (row.margin, row.measured)
    return row.passed


@pytest.fixture
def noise():
    """Gaussian noise of a given shape and scale, from a generator of the test's own."""
    rng = np.random.default_rng(1)
    return lambda *shape, scale=1.0: scale * rng.standard_normal(shape)


def site_scores(pm_over_m1: float, pairs: int = 16) -> np.ndarray:
    """[2, pairs] day-0 site scores whose premotor deficits are `pm_over_m1` of M1's."""
    m1 = np.random.default_rng(2).uniform(10, 30, pairs)
    pm = pm_over_m1 * m1 + np.random.default_rng(3).normal(0, 2, pairs)
    return 97.0 - np.stack([pm, m1])


def history(score: np.ndarray, peaks: np.ndarray | None = None,
            pm: np.ndarray | None = None, alive_m1: np.ndarray | None = None,
            site: float = 0.6) -> nh.NaturalHistory:
    return nh.NaturalHistory(score, np.ones_like(score) if peaks is None else peaks,
                             np.ones_like(score) if pm is None else pm, 97.0, 1.0,
                             np.ones(P) if alive_m1 is None else alive_m1, site_scores(site))


def recovering(s0: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """[DAYS + 1, P] scores recovering `fraction` of the impairment, fast then a plateau."""
    t = np.arange(DAYS + 1)[:, None]
    return s0 + (100 - s0) * fraction * (1 - np.exp(-t / 8.0))


@pytest.mark.parametrize("case", EFFECTS)
def test_row1_lesion_size(case: str, noise) -> None:
    sign = {"effect": -1, "none": 0, "reversed": 1}[case]
    s0 = np.clip(60 + sign * 60 * (RADIUS - 0.4) + noise(P, scale=5), 1, 99)
    frac = np.clip(0.5 + sign * (CST - 0.25) * 1.5 + noise(P, scale=0.05), 0, 1)
    site = {"effect": 0.6, "none": 1.0, "reversed": 1.4}[case]
    nat = history(recovering(s0, frac), site=site)
    row = nh.lesion_size(nh.Measures.of(LESIONS, nat), nat)
    assert verdict(row) == (case == "effect"), row.measured


@pytest.mark.parametrize("site", [1.0, 1.4])
def test_row1_needs_a_smaller_premotor_deficit(site: float, noise) -> None:
    """Size and corticospinal damage as they should be, but a premotor lesion as costly as
    an M1 lesion of the same size (or more): the row fails on its site part alone."""
    s0 = np.clip(60 - 60 * (RADIUS - 0.4) + noise(P, scale=5), 1, 99)
    frac = np.clip(0.5 - (CST - 0.25) * 1.5 + noise(P, scale=0.05), 0, 1)
    good, bad = history(recovering(s0, frac)), history(recovering(s0, frac), site=site)
    assert verdict(nh.lesion_size(nh.Measures.of(LESIONS, good), good))
    row = nh.lesion_size(nh.Measures.of(LESIONS, bad), bad)
    assert not verdict(row) and row.values["site_ratio_ci"][1] >= 1, row.measured


@pytest.mark.parametrize("case", EFFECTS)
def test_row2_spontaneous_recovery(case: str, noise) -> None:
    s0 = 50 + noise(P, scale=5)
    t = np.arange(DAYS + 1)[:, None]
    shape = {"effect": 1 - np.exp(-t / 8.0), "none": 0 * t, "reversed": -(1 - np.exp(-t / 8.0))}
    nat = history(s0 + 25 * shape[case] + noise(DAYS + 1, P, scale=0.3))
    assert verdict(nh.spontaneous_recovery(nat, DAYS)) == (case == "effect")


def test_row2_fails_when_recovery_is_complete_or_linear(noise) -> None:
    t = np.arange(DAYS + 1)[:, None]
    full = history(50 + 47 * (1 - np.exp(-t / 3.0)) + noise(DAYS + 1, P, scale=0.1))
    linear = history(40 + 0.5 * t + noise(DAYS + 1, P, scale=0.3))
    assert not verdict(nh.spontaneous_recovery(full, DAYS))  # nothing left below healthy
    assert not verdict(nh.spontaneous_recovery(linear, DAYS))  # no early-fast, late-slow


@pytest.mark.parametrize("case", EFFECTS)
def test_row3_proportional_recovery(case: str, noise) -> None:
    s0 = np.clip(95 - 100 * RADIUS + noise(P, scale=3), 5, 99)
    severe = CST >= 0.35
    frac = np.where(severe, 0.1, 0.7) + noise(P, scale=0.03)
    if case == "none":
        frac = np.where(severe, 0.1 + noise(P, scale=0.03), 0.2 + 0.6 * RNG.uniform(size=P) ** 3)
    if case == "reversed":
        frac = np.where(severe, 0.9, 0.7) + noise(P, scale=0.03)
    nat = history(recovering(s0, np.clip(frac, 0, 1)))
    row = nh.proportional_recovery(nh.Measures.of(LESIONS, nat), nat)
    assert verdict(row) == (case == "effect"), row.measured


def therapy(gains: dict[str, np.ndarray], noise, m: int = 16) -> TherapyResult:
    """Arms whose scores sit `gains[arm]` [m] above the control from each arm's end on."""
    end = CFG.late[1]
    base = 50 + noise(m, scale=5)
    score = np.repeat(base[None, None], end + 1, 0).repeat(len(gains) + 1, 1)
    for i, g in enumerate(gains.values(), start=1):
        score[:, i] += g
    profile = np.repeat(score[..., None], 8, axis=-1)
    return TherapyResult(["control", *gains], score, profile)


@pytest.mark.parametrize("case", EFFECTS)
def test_row4_early_beats_late(case: str, noise) -> None:
    early, late = {"effect": (5, 1), "none": (3, 3), "reversed": (1, 5)}[case]
    res = therapy({"early": early + noise(16), "late": late + noise(16)}, noise)
    assert verdict(th.early_beats_late(CFG, res)) == (case == "effect")


@pytest.mark.parametrize("case", [*EFFECTS, "increasing returns"])
def test_row5_dose_response(case: str, noise) -> None:
    curve = {"effect": lambda d: 8 * (1 - np.exp(-d / 40)), "none": lambda d: 0 * d,
             "reversed": lambda d: -8 * (1 - np.exp(-d / 40)),
             "increasing returns": lambda d: d ** 2 / 2000}[case]
    res = therapy({f"dose{d}" if d != CFG.reps else "early": curve(d) + noise(16, scale=0.3)
                   for d in CFG.doses}, noise)
    assert verdict(th.dose_response(CFG, res)) == (case == "effect")


@pytest.mark.parametrize("case", [*EFFECTS, "harms the untrained"])
def test_row6_specificity(case: str, noise) -> None:
    ang = np.minimum(np.arange(8), 8 - np.arange(8)) * 45.0
    gain = {"effect": 12 * np.exp(-ang / 45), "none": 0 * ang, "reversed": 12 * ang / 180,
            "harms the untrained": 12 * np.exp(-ang / 45) - ang / 15}[case]
    res = therapy({"single": np.zeros(16)}, noise)
    res.profile[:, 1] += gain + noise(16, 8, scale=0.5)
    assert verdict(th.specificity(CFG, res)) == (case == "effect")


@pytest.mark.parametrize("case", EFFECTS)
def test_row7_use_it_or_lose_it(case: str, noise) -> None:
    start, end = CFG.threshold_therapy
    days = end + CFG.followup_days
    at_end = np.linspace(10, 90, P)
    slope = {"effect": np.where(at_end >= 40, 0.2, -0.2), "none": 0 * at_end,
             "reversed": np.where(at_end >= 40, -0.2, 0.2)}[case]
    t = np.clip(np.arange(days + 1) - end, 0, None)[:, None]
    score = at_end + slope * t + noise(days + 1, P, scale=0.3)
    row = threshold.use_it_or_lose_it(CFG, TherapyResult(["threshold"], score[:, None], score))
    assert verdict(row) == (case == "effect"), row.measured


@pytest.mark.parametrize("case", EFFECTS)
def test_row8_smoothness(case: str, noise) -> None:
    t = np.arange(DAYS + 1)[:, None] / DAYS
    peaks = {"effect": 1.3 - 0.2 * t, "none": 1.0 + 0 * t, "reversed": 0.9 + 0.3 * t}[case]
    nat = history(np.full((DAYS + 1, P), 50.0), peaks=peaks + noise(DAYS + 1, P, scale=0.02))
    row = nh.smoothness(nh.Measures.of(LESIONS, nat), nat, DAYS)
    assert verdict(row) == (case == "effect"), row.measured


@pytest.mark.parametrize("case", [*EFFECTS, "outside Frost's range"])
def test_row9_vicarious_compensation(case: str, noise) -> None:
    damage = RNG.uniform(0.0, 0.8, P)
    growth = {"effect": 0.6 * damage, "none": 0.2 + 0 * damage, "reversed": 0.5 - 0.6 * damage,
              "outside Frost's range": 2.0 * damage}[case] + noise(P, scale=0.03)
    pm = np.ones((DAYS + 1, P))
    pm[-1] += growth
    nat = history(np.full((DAYS + 1, P), 50.0), pm=pm, alive_m1=1 - damage)
    row = nh.vicarious_compensation(nh.Measures.of(LESIONS, nat))
    assert verdict(row) == (case == "effect"), row.measured


@pytest.mark.parametrize("case", [*EFFECTS, "only no therapy differs"])
def test_row10_the_therapist_matters(case: str, noise) -> None:
    base = 60 + noise(16, scale=8)
    shift = {"effect": (4, 2, 0), "none": (0, 0, 0), "reversed": (0, 2, 4),
             "only no therapy differs": (0, 0, 0)}[case]
    finals = {name: base + d + noise(16, scale=0.5) * (i + 1) for i, (name, d) in
              enumerate(zip(("uniform", "worst_first", "one_direction"), shift))}
    finals["no_therapy"] = base - 10
    row = therapist_row(compare_finals(finals, base, 0, "synthetic"))
    # reversed still has a best and a worst schedule: the row asks that they differ
    assert verdict(row) == (case in ("effect", "reversed")), row.measured


def challenge_result(case: str, noise, n: int = 12) -> ch.ChallengeResult:
    """Gains over 3 distances x 4 assistance levels x 2 precisions: with the effect, mild
    patients gain most unassisted and severe ones with light assistance, both less at the ends
    of difficulty (the smaller target too hard for both); none: one flat profile for both;
    reversed: the cohorts' profiles swapped."""
    levels = [(d, a, q) for d in (0.06, 0.10, 0.14) for a in (0.0, 0.25, 0.5, 1.0)
              for q in (0.7, 0.9)]
    success = np.array([[max(0.0, min(1.0, 0.8 + a * 0.3 - 2 * (d - 0.1) - 3 * (q - 0.7)))
                         for d, a, q in levels],
                        [max(0.0, min(1.0, 0.1 + a * 1.2 - 2 * (d - 0.1) - 3 * (q - 0.7)))
                         for d, a, q in levels]])
    mild = np.array([{0.0: 2.0, 0.25: 0.5, 0.5: 0.0, 1.0: 0.0}[a] - 20 * abs(d - 0.1)
                     - 12 * (q - 0.7) for d, a, q in levels])
    severe = np.array([{0.0: 0.0, 0.25: 4.0, 0.5: 1.5, 1.0: -0.5}[a] - 20 * abs(d - 0.08)
                       - 15 * (q - 0.7) for d, a, q in levels])
    shape = {"effect": (mild, severe), "none": (mild, mild), "reversed": (severe, mild)}[case]
    gain = np.stack([s[:, None] + noise(len(levels), n, scale=0.8) for s in shape])
    return ch.ChallengeResult(levels, gain, np.repeat(success[:, :, None], n, 2),
                              np.full((2, n), 50.0))


@pytest.mark.parametrize("case", EFFECTS)
def test_row11_challenge_point(case: str, noise) -> None:
    row = ch.challenge_point(CFG, challenge_result(case, noise))
    assert verdict(row) == (case == "effect"), row.measured


@pytest.mark.parametrize("case", EFFECTS)
def test_row12_assistance(case: str, noise) -> None:
    row = ch.assistance(CFG, challenge_result(case, noise))
    assert verdict(row) == (case == "effect"), row.measured


def test_row12_asks_for_assistance_as_needed_not_any_assistance(noise) -> None:
    """Severe patients helped by every assisted level, most by full assistance (no slacking):
    the old criterion (the assisted mean above none) would pass; assist-as-needed does not."""
    res = challenge_result("effect", noise)
    levels = np.array(res.levels)
    severe = np.array([{0.0: 0.0, 0.25: 2.0, 0.5: 3.0, 1.0: 4.0}[a] for a in levels[:, 1]])
    res.gain[1] = severe[:, None] + noise(len(levels), res.gain.shape[2], scale=0.8)
    row = ch.assistance(CFG, res)
    assert not verdict(row), row.measured
    assert row.values["severe_light_minus_none"] > 0 > row.values["severe_light_minus_full"]


def test_row11_interaction_p_is_uniformish_without_an_interaction() -> None:
    """Same profile plus noise in both cohorts: the permutation p is rarely below 0.05."""
    rng = np.random.default_rng(3)
    ps = [ch.interaction_p(rng.normal(size=(2, 6, 10)) + np.arange(6)[None, :, None],
                           n_resamples=499, seed=k) for k in range(40)]
    assert np.mean(np.array(ps) < 0.05) <= 0.15


def test_every_registered_row_has_criteria_tests_with_the_effect_without_it_and_reversed(
        ) -> None:
    tests = {name: f for name, f in globals().items() if name.startswith("test_row")}
    for p in registered():
        cases: set[str] = set()
        for name, test in tests.items():
            if name.startswith(f"test_row{p.number}_"):
                for mark in getattr(test, "pytestmark", []):
                    if mark.name == "parametrize" and mark.args[0] == "case":
                        cases |= set(mark.args[1])
        assert set(EFFECTS) <= cases, f"row {p.number} ({p.name}): criteria tests for {cases}"


def test_challenge_stages_saved_before_precision_read_at_the_default_threshold(noise) -> None:
    arrays = challenge_result("effect", noise).to_arrays()
    legacy = dict(arrays, levels=arrays["levels"][:, :2])
    levels = ch.ChallengeResult.from_arrays(legacy).levels
    assert levels == [(d, a, ch.DEFAULT_PRECISION) for d, a, _ in arrays["levels"]]


def test_margin_grows_with_the_effect(noise) -> None:
    """The calibration's objective: a row's margin rises with its effect, through 0 where the
    verdict turns."""
    s0 = 50 + noise(P, scale=5)
    shape = 1 - np.exp(-np.arange(DAYS + 1)[:, None] / 8.0)
    wobble = noise(DAYS + 1, P, scale=2.0)
    margins = [nh.spontaneous_recovery(history(s0 + g * shape + wobble), DAYS).margin
               for g in (-5.0, 0.5, 10.0, 25.0)]
    assert margins == sorted(margins) and margins[0] < 0 < margins[2], margins


def test_a_condition_on_its_edge_has_a_margin_near_zero() -> None:
    """The best level being the easiest one: a difference of exactly 0 with no spread fails
    on its edge, not by the largest margin."""
    from rehabgym.phenomena import margins as mg
    from rehabgym.stats import mean_estimate

    edge = mg.above(mean_estimate(np.zeros(5)))
    assert -1e-3 < edge < 0
    assert mg.above(mean_estimate(np.full(5, -2.0))) == -mg.LIMIT
