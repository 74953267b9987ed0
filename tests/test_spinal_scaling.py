"""Spinal synaptic scaling: each muscle's cortical drive is pulled toward its healthy total."""

from __future__ import annotations

import pytest
import torch

from rehabgym.config import ConfigError
from rehabgym.cortex.lesion import Lesion
from rehabgym.cortex.plasticity import PlasticityConfig, spinal_scaling
from rehabgym.patient import PatientBatch, PatientConfig, SessionPlan

LESION = Lesion(focal_center=(1.0, 1.0), focal_radius=0.45, penumbra_width=0.2,
                corticospinal_fraction=0.1, seed=3)


def test_scaling_moves_each_muscle_toward_its_reference_by_at_most_the_step():
    n = 10
    ref = torch.full((6,), 1.0)
    mag = torch.linspace(0.05, 0.15, n).repeat(3, 6, 1)  # drive 1.0 per muscle
    mag[1, :3] *= 2.0  # patient 1: muscles 0-2 driven twice as hard as healthy
    mag[1, 3:] *= 0.5  # muscles 3-5 half as hard
    alive = torch.ones(3, n)
    cs = torch.ones(3, 6, n)
    alive[2, :4] = 0  # patient 2: four neurons dead, one survivor has no fibre onto muscle 0
    cs[2, 0, 9] = 0
    new = spinal_scaling(mag, cs, alive, ref, strength=0.5, max_step=0.02, max_weight=2.0)
    factor = new / mag
    assert torch.allclose(factor[0], torch.ones(6, n))  # at the healthy drive: unchanged
    assert torch.allclose(factor[1, :3], torch.full((3, n), 0.98))  # down by the step
    assert torch.allclose(factor[1, 3:], torch.full((3, n), 1.02))  # up by the step
    assert (factor[2, :, :4] == 1).all() and factor[2, 0, 9] == 1  # dead, no fibre: untouched
    assert (factor[2, :, 4:9] > 1).all()  # survivors of a muscle that lost drive grow
    # the pattern within a muscle (what practice taught) is kept
    assert torch.allclose(new[1, 0] / new[1, 0].sum(), mag[1, 0] / mag[1, 0].sum())


def test_a_small_imbalance_is_scaled_by_its_power_not_the_step():
    ref = torch.full((6,), 1.0)
    mag = torch.full((1, 6, 4), 0.25 * 1.01)  # 1 % above the healthy drive
    new = spinal_scaling(mag, torch.ones(1, 6, 4), torch.ones(1, 4), ref, strength=0.5,
                         max_step=0.02, max_weight=2.0)
    assert torch.allclose(new / mag, torch.full((1, 6, 4), 1.01 ** -0.5))


def _drive_error(rate: float, homeostasis: bool = True) -> tuple[torch.Tensor, PatientBatch]:
    pc = PlasticityConfig(spinal_scaling_rate=rate, homeostasis=homeostasis)
    b = PatientBatch([LESION], PatientConfig(plasticity=pc, daily_life_reps=8,
                                             assessment_repeats=1), seed=0)
    for _ in range(4):
        b.practice([SessionPlan((0,), 24)])
        b.rest(1)
    s = b.brains.state
    drive = (s.mag_out * s.corticospinal * s.alive[:, None, :]).sum(-1)[0]
    return (drive / b.brains.reference_drive - 1).abs(), b


def test_a_patient_keeps_its_muscles_nearer_their_healthy_drive_and_its_invariants():
    off, _ = _drive_error(0.0)
    on, b = _drive_error(0.5)
    assert on.mean() < off.mean()
    assert b.brains.dale_ok() and b.brains.dead_disconnected()
    out = b.brains.state.mag_out
    assert torch.isfinite(out).all() and out.min() >= 0
    assert out.max() <= b.config.plasticity.max_weight


def test_the_homeostasis_switch_turns_spinal_scaling_off():
    _, with_rate = _drive_error(0.5, homeostasis=False)
    _, without = _drive_error(0.0, homeostasis=False)
    assert torch.equal(with_rate.brains.state.mag_out, without.brains.state.mag_out)


def test_only_the_chosen_areas_fibres_are_scaled_against_the_whole_drive():
    ref = torch.full((6,), 1.0)
    mag = torch.full((1, 6, 4), 0.125)  # half the healthy drive
    m1 = torch.tensor([True, True, False, False])
    new = spinal_scaling(mag, torch.ones(1, 6, 4), torch.ones(1, 4), ref, strength=0.5,
                         max_step=0.02, max_weight=2.0, scaled=m1)
    assert torch.allclose(new[..., :2], mag[..., :2] * 1.02)
    assert torch.equal(new[..., 2:], mag[..., 2:])


def test_an_unknown_area_is_refused_by_name():
    with pytest.raises(ConfigError, match="spinal_scaling_areas.*allowed"):
        PlasticityConfig(spinal_scaling_areas=("V1",))
