"""The success signal: the reward rule learns most where success is uncertain.

What is reinforced is a soft success of each reach (`reinforcement`), so a patient who never
succeeds learns little unaided and more with assistance that lets it succeed sometimes, and a
patient who succeeds unaided learns less when full assistance makes every reach a success. The
`success` switch gives back the raw outcome, from which even a failing patient learns.
Beside success, `error_weight` reinforces the graded outcome a little: a patient far below the
threshold still learns, slowly, instead of drifting with no signal at all.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from rehabgym.cortex.lesion import Lesion
from rehabgym.cortex.plasticity import PlasticityConfig, reinforcement
from rehabgym.patient import PatientBatch, PatientConfig, SessionPlan

SEVERE = Lesion(focal_radius=0.9, corticospinal_fraction=0.6, seed=2)  # score 29 at day 0
MILD = Lesion(focal_radius=0.5, corticospinal_fraction=0.2, seed=2)  # 62
SLIGHT = Lesion(focal_radius=0.3, seed=2)  # 97: every reach succeeds


def test_reinforcement_is_a_soft_success_and_the_switch_gives_the_outcome_back() -> None:
    x = np.linspace(-2, 2, 81)
    r = reinforcement(x, True, 0.7, 0.05)
    assert np.all((r >= 0) & (r <= 1)) and np.all(np.diff(r) >= 0)
    assert reinforcement(np.array([0.7]), True, 0.7, 0.05)[0] == pytest.approx(0.5)
    assert r[0] < 1e-6 and r[-1] > 1 - 1e-6  # far from the threshold: no difference left
    np.testing.assert_array_equal(reinforcement(x, False, 0.7, 0.05), x)


def learning(plasticity: PlasticityConfig, sessions: list[tuple[Lesion, float]],
             distance: float = 0.10) -> tuple[np.ndarray, np.ndarray, PatientBatch]:
    """Total |weight change| of one session of 64 reaches at `distance` per (lesion,
    assistance), each patient with the same seed, and each session's success rate."""
    cfg = PatientConfig(plasticity=plasticity)
    batch = PatientBatch([les for les, _ in sessions], cfg, seed=[5] * len(sessions))
    before = {k: getattr(batch.brains.state, k).clone() for k in ("mag_rec", "mag_out")}
    out = batch.practice([SessionPlan(tuple(range(8)), 64, distance, a) for _, a in sessions])
    change = sum((getattr(batch.brains.state, k) - v).abs().sum((1, 2)) for k, v in before.items())
    return change.numpy(), np.array([o.success_rate for o in out]), batch


def test_a_patient_who_hardly_succeeds_learns_more_with_assistance_than_without() -> None:
    change, success, _ = learning(PlasticityConfig(), [(SEVERE, 0.0), (SEVERE, 0.25)])
    assert success[0] <= 0.15 and success[1] > 0.5, success  # unaided: one direction of 8
    assert change[0] < 0.8 * change[1], change
    # switched off, the raw outcome is reinforced: unaided it learns more (v0's rule)
    off, _, _ = learning(replace(PlasticityConfig(), success=False),
                         [(SEVERE, 0.0), (SEVERE, 0.25)])
    assert off[0] > off[1], off


def test_a_patient_who_succeeds_unaided_learns_less_under_full_assistance() -> None:
    change, success, _ = learning(PlasticityConfig(), [(MILD, 0.0), (MILD, 1.0)])
    assert 0.2 < success[0] < 0.8 and success[1] == 1.0, success
    assert change[1] < 0.2 * change[0], change


def test_reinforcement_adds_the_graded_outcome_with_its_weight() -> None:
    x = np.linspace(-2, 2, 81)
    np.testing.assert_allclose(reinforcement(x, True, 0.7, 0.05, 0.2),
                               reinforcement(x, True, 0.7, 0.05) + 0.2 * x)
    assert reinforcement(x, False, 0.7, 0.05, 0.2) is x  # success off: the outcome alone


def test_practice_too_easy_teaches_little_and_switched_off_the_raw_outcome_teaches() -> None:
    """Every reach succeeds: success alone teaches little; with the graded part (weight
    0.2 of the raw outcome) still well under what the raw outcome teaches."""
    pc = PlasticityConfig()
    on, success, _ = learning(pc, [(SLIGHT, 0.0)])
    bare, _, _ = learning(replace(pc, error_weight=0.0), [(SLIGHT, 0.0)])
    off, _, _ = learning(replace(pc, success=False), [(SLIGHT, 0.0)])
    assert success[0] == 1.0
    assert bare[0] < 0.2 * off[0], (bare, off)
    assert bare[0] < on[0] < 0.4 * off[0], (bare, on, off)


def test_a_patient_who_never_succeeds_learns_from_the_graded_outcome_only() -> None:
    """No reach succeeds (the severe patient at 6 cm): without the graded part nothing is
    learnt, with it a fraction of what the raw outcome teaches."""
    pc = PlasticityConfig()
    on, success, _ = learning(pc, [(SEVERE, 0.0)], distance=0.06)
    bare, _, _ = learning(pc.without("graded"), [(SEVERE, 0.0)], distance=0.06)
    off, _, _ = learning(replace(pc, success=False), [(SEVERE, 0.0)], distance=0.06)
    assert success[0] == 0.0
    assert bare[0] < 0.1 * on[0], (bare, on)
    assert on[0] < 0.5 * off[0], (on, off)


def test_the_patients_invariants_hold_under_the_success_signal() -> None:
    _, _, batch = learning(PlasticityConfig(), [(SEVERE, 0.25), (MILD, 0.0), (None, 1.0)])
    alive = batch.brains.alive.clone()
    batch.rest(2)
    b, top = batch.brains, batch.config.plasticity.max_weight
    assert b.dale_ok() and b.dead_disconnected() and torch.equal(b.alive, alive)
    for key in ("mag_rec", "mag_out"):
        t = getattr(b.state, key)
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= top
