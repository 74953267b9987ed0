"""The virtual patient: lesions, plasticity invariants, determinism, save/load, bad input."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tolerance import TIGHT

from rehabgym.config import ConfigError
from rehabgym.cortex.brains import STATE_FIELDS, BrainState
from rehabgym.cortex.lesion import Lesion, lesion_masks
from rehabgym.cortex.plasticity import (
    RULES,
    PlasticityConfig,
    acute_depression,
    axonal_sprouting,
    corticospinal_sprouting,
    lost_targets,
)
from rehabgym.patient import (
    BIOMARKER_NAMES,
    Biomarkers,
    CohortConfig,
    Patient,
    PatientBatch,
    PatientConfig,
    SessionOutcome,
    SessionPlan,
    sample_cohort,
)

FAST = dict(daily_life_reps=8, assessment_repeats=1, block_size=16)
LESION = Lesion(focal_center=(1.0, 1.0), focal_radius=0.45, penumbra_width=0.2,
                corticospinal_fraction=0.1, seed=3)


def fast_config(**plasticity) -> PatientConfig:
    return PatientConfig(plasticity=PlasticityConfig(**plasticity), **FAST)


def test_healthy_patient_scores_near_100_and_lesion_lowers_it():
    b = PatientBatch([None, LESION], fast_config(), seed=0)
    healthy, stroke = b.last
    assert healthy.score > 85
    assert stroke.score < healthy.score - 5


def test_lesion_kills_what_it_says():
    p = Patient(LESION, fast_config(), seed=0)
    sheet = p.brains.healthy.sheet
    m = lesion_masks(LESION, sheet)
    d = np.linalg.norm(sheet.positions - np.asarray(LESION.focal_center), axis=1)
    assert not m.alive[d <= LESION.focal_radius].any()
    alive = p.brains.alive[0].numpy() > 0
    np.testing.assert_array_equal(alive, m.alive)
    assert p.brains.dead_disconnected()
    cut = m.corticospinal_cut & alive
    assert (p.brains.corticospinal[0][:, torch.as_tensor(cut)] == 0).all()


@pytest.mark.parametrize("bad", [
    dict(focal_radius=-0.1), dict(diffuse_fraction=1.5), dict(corticospinal_fraction=-0.2),
    dict(penumbra_strength=2.0),
])
def test_impossible_lesion_is_an_error(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Lesion(focal_center=(1.0, 1.0), **bad)


def test_lesion_centre_off_the_sheet_is_an_error():
    with pytest.raises(ValueError, match="focal_center"):
        Patient(Lesion(focal_center=(9.0, 1.0), focal_radius=0.3), fast_config())


def test_invariants_hold_over_many_days():
    b = PatientBatch([LESION], fast_config(), seed=1)
    alive0 = b.brains.alive.clone()
    for _ in range(6):
        b.practice([SessionPlan((0, 2, 4), 32)])
        b.rest(1)
    assert b.brains.dale_ok()
    assert b.brains.dead_disconnected()
    assert torch.equal(b.brains.alive, alive0)  # dead stays dead
    for key in ("mag_rec", "mag_out"):
        t = getattr(b.brains.state, key)
        assert torch.isfinite(t).all() and t.min() >= 0
        assert t.max() <= b.config.plasticity.max_weight


ANY_LESION = st.builds(
    Lesion, focal_center=st.tuples(st.floats(0.0, 3.0), st.floats(0.0, 2.0)),
    focal_radius=st.floats(0.0, 0.9), penumbra_width=st.floats(0.0, 0.3),
    diffuse_fraction=st.floats(0.0, 0.4), corticospinal_fraction=st.floats(0.0, 0.8),
    seed=st.integers(0, 2**16))
ANY_DAY = st.tuples(st.lists(st.integers(0, 7), min_size=1, max_size=8, unique=True),
                    st.integers(0, 24), st.floats(0.02, 0.2), st.floats(0.0, 1.0),
                    st.integers(0, 3))


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(lesion=ANY_LESION, days=st.lists(ANY_DAY, min_size=1, max_size=4))
def test_invariants_hold_for_any_lesion_and_schedule(lesion, days):
    """Dale's law, dead stays dead and unconnected, weights finite and in bounds: whatever the
    lesion (anywhere on the sheet, any mix of kinds) and whatever is practised and rested."""
    b = PatientBatch([lesion], fast_config(), seed=lesion.seed)
    alive0 = b.brains.alive.clone()
    for directions, reps, distance, assistance, rest in days:
        b.practice([SessionPlan(tuple(directions), reps, distance, assistance)])
        b.rest(rest)
        assert b.brains.dale_ok() and b.brains.dead_disconnected()
        assert torch.equal(b.brains.alive, alive0)
        for key in ("mag_rec", "mag_out"):
            t = getattr(b.brains.state, key)
            assert torch.isfinite(t).all() and t.min() >= 0
            assert t.max() <= b.config.plasticity.max_weight


@pytest.mark.slow
def test_weights_finite_and_bounded_after_200_days():
    b = PatientBatch([LESION], fast_config(), seed=2)
    b.rest(200)
    assert b.brains.dale_ok() and b.brains.dead_disconnected()
    for key in ("mag_rec", "mag_out"):
        t = getattr(b.brains.state, key)
        assert torch.isfinite(t).all() and t.max() <= b.config.plasticity.max_weight


def test_no_plasticity_no_recovery():
    p = Patient(LESION, fast_config(**{rule: False for rule in RULES}), seed=0)
    s0 = p.assess().score
    for _ in range(3):
        p.practice(SessionPlan(tuple(range(8)), 32))
        p.rest(1)
    assert p.assess().score == s0


def test_practice_changes_the_brain_with_plasticity_on():
    p = Patient(LESION, fast_config(), seed=0)
    before = p.brains.state.mag_out.clone()
    p.practice(SessionPlan((0,), 16))
    assert not torch.equal(before, p.brains.state.mag_out)


def test_same_seed_same_future_and_save_load_continue(tmp_path):
    def run(p):
        p.practice(SessionPlan((1, 5), 16, assistance=0.5))
        p.rest(1)
        return p.assess().score, p.brains.state.mag_out.clone()

    a = Patient(LESION, fast_config(), seed=4)
    b = Patient(LESION, fast_config(), seed=4)
    a.practice(SessionPlan((0,), 16))
    b.practice(SessionPlan((0,), 16))
    b.save(tmp_path / "p.pt")
    c = Patient.load(tmp_path / "p.pt")
    sa, wa = run(a)
    sc, wc = run(c)
    assert sa == sc and torch.equal(wa, wc)
    sb, _ = run(b)
    assert sb == sa


@pytest.mark.parametrize("plan, field", [
    (SessionPlan((9,), 10), "directions"),
    (SessionPlan((0,), -1), "repetitions"),
    (SessionPlan((0,), 10, assistance=1.5), "assistance"),
    (SessionPlan((0,), 10, distance=1.0), "distance"),
    (SessionPlan((), 10), "directions"),
    (SessionPlan((0,), 10, precision=1.0), "precision"),
    (SessionPlan((0,), 10, precision=float("nan")), "precision"),
    (SessionPlan((0,), 10, precision=True), "precision"),
])
def test_bad_plan_is_rejected_and_patient_unchanged(plan, field):
    p = Patient(LESION, fast_config(), seed=0)
    state = {k: v.clone() for k, v in p.brains.state.tensors().items()}
    day, dose = p.day, p.dose
    with pytest.raises(ValueError, match=field):
        p.practice(plan)
    assert p.day == day and p.dose == dose
    assert all(torch.equal(state[k], getattr(p.brains.state, k)) for k in state)


def test_the_brain_state_is_a_typed_record_that_round_trips_and_names_a_missing_field():
    p = Patient(LESION, fast_config(), seed=0)
    assert isinstance(p.brains.state, BrainState)
    saved = p.brains.get_state()
    assert tuple(saved) == STATE_FIELDS
    p.practice(SessionPlan((0,), 10))
    assert not torch.equal(saved["mag_out"], p.brains.state.mag_out)  # a copy, not a view
    p.brains.set_state(saved)
    assert all(torch.equal(v, getattr(p.brains.state, k)) for k, v in saved.items())
    before = p.brains.state
    with pytest.raises(ValueError, match=r"missing fields \['depression'\]"):
        p.brains.set_state({k: v for k, v in saved.items() if k != "depression"})
    assert p.brains.state is before
    with pytest.raises(TypeError):
        BrainState(**saved, weights=saved["mag_rec"])


def test_a_smaller_target_lowers_success_on_the_same_reaches():
    """One block of reaches is the same reaches at any precision (same noise, no learning
    yet): a higher precision counts fewer of them as successes and teaches the brain
    differently; the default precision is the patient's threshold, to the last bit."""
    def session(precision):
        p = Patient(LESION, fast_config(), seed=5)
        out = p.practice(SessionPlan((0, 2, 4, 6), 16, precision=precision))
        return out, p.brains.state.mag_out.clone()

    (easy, w_easy), (hard, w_hard), (default, w_default) = (
        session(0.7), session(0.95), session(None))
    assert easy.mean_reach_score == hard.mean_reach_score
    assert hard.success_rate < easy.success_rate
    assert not torch.equal(w_easy, w_hard)
    assert default == easy and torch.equal(w_default, w_easy)


def test_the_hardest_precision_is_too_hard_for_mild_patients():
    """The challenge experiment's hardest level (6 cm, unassisted, precision 0.9) succeeds less
    than half the time for mild patients (the scorecard's cohort pooled: 17 %), while the
    default precision at the assessment distance mostly succeeds: a level that is too hard."""
    lesions = sample_cohort(CohortConfig.preset("mild"), 4, 700)
    batch = PatientBatch(lesions + lesions, PatientConfig(), seed=[0, 1, 2, 3] * 2)
    batch.rest(5)
    out = batch.practice([SessionPlan(tuple(range(8)), 32, 0.06, 0.0, 0.9)] * 4
                         + [SessionPlan(tuple(range(8)), 32, 0.10, 0.0)] * 4)
    hard = np.mean([o.success_rate for o in out[:4]])
    default = np.mean([o.success_rate for o in out[4:]])
    assert hard < 0.5 < default, (hard, default)


def test_negative_rest_days_rejected():
    p = Patient(None, fast_config(), seed=0)
    with pytest.raises(ValueError, match="days"):
        p.rest(-1)


def test_cohort_sampling_is_reproducible_and_varied():
    a = sample_cohort(CohortConfig.preset("mixed"), 5, seed=7)
    b = sample_cohort(CohortConfig.preset("mixed"), 5, seed=7)
    c = sample_cohort(CohortConfig.preset("mixed"), 5, seed=8)
    assert a == b and a != c
    with pytest.raises(ValueError, match="cohort"):
        CohortConfig.preset("nonexistent")


def test_biomarkers_and_a_sessions_outcome_are_typed_records_of_plain_numbers():
    p = Patient(LESION, fast_config(), seed=0)
    b = p.biomarkers()
    assert isinstance(b, Biomarkers)
    values = dataclasses.asdict(b)
    assert tuple(values) == BIOMARKER_NAMES and list(b.as_array()) == list(values.values())
    assert all(isinstance(v, float) and np.isfinite(v) for v in values.values())
    out = p.practice(SessionPlan((0,), 16))
    assert isinstance(out, SessionOutcome) and out.repetitions == 16
    assert 0.0 <= out.success_rate <= 1.0 and 0.0 < out.fatigue
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.success_rate = 1.0


def test_corticospinal_sprouting_grows_with_lost_drive_and_spares_the_dead():
    n = 10
    ref = torch.full((6,), 1.0)
    mag = torch.full((3, 6, n), 0.1)  # drive 1.0 per muscle: nothing lost
    alive = torch.ones(3, n)
    cs = torch.ones(3, 6, n)
    alive[1, :5] = 0  # half the neurons dead: half the drive lost
    alive[2, :8] = 0
    cs[2, :, 9] = 0  # and one survivor has no fibre
    new = corticospinal_sprouting(mag, cs, alive, ref, torch.full((3,), 0.1), max_weight=2.0)
    growth = new / mag
    assert torch.allclose(growth[0], torch.ones(6, n))  # at the healthy drive: no growth
    assert torch.allclose(growth[1, :, 5:], torch.full((6, 5), 1.05))
    assert torch.allclose(growth[2, :, 8], torch.full((6,), 1.09))  # 90 % lost
    assert (growth[1, :, :5] == 1).all() and (growth[2, :, 9] == 1).all()  # dead / no fibre


def test_axonal_sprouting_grows_neurons_that_lost_targets_up_to_their_bound():
    n = 4
    healthy_rec = torch.zeros(n, n)
    healthy_rec[0, 2] = healthy_rec[1, 2] = 1.0  # neuron 2 projects onto 0 and 1
    healthy_rec[1, 3] = 1.0  # neuron 3 onto 1 only
    alive = torch.ones(2, n)
    alive[1, 0] = 0  # patient 1: neuron 0 dies, so neuron 2 lost half its targets
    lost = lost_targets(healthy_rec, alive)
    assert torch.allclose(lost[0], torch.zeros(n))
    assert torch.allclose(lost[1], torch.tensor([0.0, 0.0, 0.5, 0.0]))
    healthy_out = torch.full((6, n), 0.1)
    cs = torch.ones(2, 6, n)
    cs[1, :3, 2] = 0  # three of neuron 2's six fibres are cut
    mag = healthy_out[None].repeat(2, 1, 1) * cs * alive[:, None, :]
    new = mag
    for _ in range(200):
        new = axonal_sprouting(new, cs, alive, lost, healthy_out, torch.full((2,), 1.0),
                               bound=2.0, max_weight=2.0)
    assert torch.equal(new[0], mag[0])  # nothing lost, nothing grows
    assert torch.equal(new[1, :, [1, 3]], mag[1, :, [1, 3]])
    assert (new[1, :, 0] == 0).all() and (new[1, :3, 2] == 0).all()  # dead, cut: stay silent
    # neuron 2 grows toward (1 + 2 x 0.5) x its healthy output over the surviving fibres
    assert torch.allclose(new[1, 3:, 2], torch.full((3,), 0.2), rtol=1e-3)
    assert (new[1, 3:, 2] <= 0.2 + 1e-6).all()


def test_acute_depression_follows_lost_excitatory_input():
    excitatory = torch.tensor([True, True, False, True])  # neuron 2 is inhibitory
    healthy_rec = torch.zeros(4, 4)  # post x pre
    healthy_rec[0, 1] = healthy_rec[0, 3] = 1.0  # neuron 0 hears 1 and 3
    healthy_rec[1, 3] = 1.0  # neuron 1 hears 3 and inhibitory 2 (not drive)
    healthy_rec[1, 2] = 5.0
    alive = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]])
    d = acute_depression(healthy_rec, excitatory, alive, depth=1.5, cap=0.9)
    # neuron 3 dead: neuron 0 lost half its drive (1.5 x 0.5), neuron 1 all of it (capped)
    assert torch.allclose(d[0], torch.tensor([0.75, 0.9, 0.0, 0.0]))
    assert torch.equal(d[1], torch.zeros(4))  # no lesion, no depression
    assert torch.allclose(d[2], torch.tensor([0.0, 0.9, 0.0, 0.0]))  # the dead are just dead


def test_diaschisis_lowers_day_0_and_resolves_to_the_undepressed_brain():
    only = {rule: False for rule in RULES if rule != "diaschisis"}
    cfg = fast_config(diaschisis_depth=4.0, diaschisis_tau_days=1.0, **only)
    on = PatientBatch([LESION, LESION], cfg, seed=4)
    off = PatientBatch([LESION], fast_config(**{rule: False for rule in RULES}), seed=4)
    d0 = on.brains.state.depression.clone()
    assert d0.max() > 0.3 and (d0[:, on.brains.alive[0] == 0] == 0).all()
    day0 = on.scores[0]
    assert day0 < off.scores[0] - 5  # survivors near the infarct start depressed
    on.rest(3)
    assert torch.allclose(on.brains.state.depression, d0 * np.exp(-3.0), atol=1e-6)
    assert on.scores[0] > day0 + 5 and on.brains.dale_ok() and on.brains.dead_disconnected()
    on.rest(27)  # e^-30: resolved; the weights are the lesioned brain's without diaschisis
    for key in ("mag_rec", "mag_out"):
        assert torch.allclose(getattr(on.brains.state, key)[0],
                              getattr(off.brains.state, key)[0], atol=1e-5)
    assert on.scores[0] == pytest.approx(off.scores[0], abs=1.0)
    on.replace(1, LESION, seed=4)  # a new patient in a slot is depressed from day 0 again
    assert torch.allclose(on.brains.state.depression[1], d0[1])


def test_axonal_sprouting_areas_are_checked():
    with pytest.raises(ValueError, match="axon_sprout_areas.*allowed"):
        PlasticityConfig(axon_sprout_areas=("V1",))


def test_each_patient_has_random_streams_of_its_own(tmp_path):
    lesions = sample_cohort(CohortConfig(), 3, 0)
    batch = PatientBatch(lesions, fast_config(), seed=10)
    # patient i is the single patient of seed 10 + i: the same battery noise and streams,
    # so the same day-0 score up to the float rounding of a bigger batch
    for i, lesion in enumerate(lesions):
        alone = PatientBatch([lesion], fast_config(), seed=10 + i)
        assert batch.last[i].score == pytest.approx(alone.last[0].score, abs=0.01)
        assert torch.equal(batch.streams.gens[i].get_state(), alone.streams.gens[0].get_state())
    # a new patient in slot 0 restarts that slot's streams only
    others = [g.get_state() for g in batch.streams.gens[1:]], [r.bit_generator.state
                                                         for r in batch.streams.rngs[1:]]
    batch.replace(0, lesions[2], seed=99)
    fresh = torch.Generator().manual_seed(99).get_state()
    assert torch.equal(batch.streams.gens[0].get_state(), fresh)
    assert all(torch.equal(a, g.get_state()) for a, g in zip(others[0], batch.streams.gens[1:]))
    assert others[1] == [r.bit_generator.state for r in batch.streams.rngs[1:]]
    state = batch.get_state()
    del state["seeds"]
    with pytest.raises(ValueError, match="older rehabgym"):
        PatientBatch.from_state(state)


def test_a_patient_learns_in_a_batch_as_it_does_alone():
    # patient 0 practises 4 reaches in a block padded by patient 1's 14: its weight change is
    # normalised by its own 4 reaches, as alone (only the reward rule on)
    cfg = fast_config(**{rule: rule == "reward" for rule in RULES})
    other = Lesion(focal_center=(0.8, 1.2), focal_radius=0.3, seed=1)
    plans = [SessionPlan((0, 3), 4), SessionPlan((1,), 14)]
    batch = PatientBatch([LESION, other], cfg, seed=[5, 6])
    alone = PatientBatch([LESION], cfg, seed=5)
    before = alone.brains.state.mag_rec[0].clone()
    batch.practice(plans)
    alone.practice(plans[:1])
    change_alone = alone.brains.state.mag_rec[0] - before
    assert float(change_alone.abs().max()) > 1e-6  # it learned something
    torch.testing.assert_close(batch.brains.state.mag_rec[0] - before, change_alone,
                               rtol=0, atol=0)


def test_a_patients_days_are_the_same_to_the_last_bit_whoever_shares_its_batch():
    # other patients with other sessions and other daily-life use (a reach's rounding does not
    # depend on how many reaches its block holds: every block has block_size rows)
    cfg = fast_config()
    others = [Lesion(focal_radius=0.6, corticospinal_fraction=0.3, seed=1), None]
    alone = PatientBatch([LESION], cfg, seed=5)
    batch = PatientBatch([others[0], LESION, others[1]], cfg, seed=[7, 5, 8])
    for day in range(3):
        mine = SessionPlan((day,), 5 + 3 * day, 0.08, 0.25 * day)
        alone.practice([mine])
        batch.practice([SessionPlan((2, 5), 17), mine, SessionPlan()])
        alone.rest(1)
        batch.rest(1)
        assert alone.scores[0] == pytest.approx(batch.scores[1], rel=TIGHT)
        assert torch.equal(alone.brains.state.connectivity[0],
                           batch.brains.state.connectivity[1])
        for key in ("mag_rec", "mag_out"):
            torch.testing.assert_close(getattr(alone.brains.state, key)[0],
                                       getattr(batch.brains.state, key)[1],
                                       rtol=TIGHT, atol=TIGHT)


def test_same_numbers_on_one_thread_and_on_two():
    # two threads split the reaches by patient and the reward products by patient
    plans = [SessionPlan((0, 3), 64), SessionPlan((1,), 64)]
    other = Lesion(focal_center=(0.8, 1.2), focal_radius=0.3, seed=1)
    states = []
    for nthread in (1, 2):
        cfg = PatientConfig(plasticity=PlasticityConfig(), nthread=nthread, block_size=64,
                            daily_life_reps=8, assessment_repeats=1)
        batch = PatientBatch([LESION, other], cfg, seed=4)
        batch.practice(plans)
        states.append(batch.brains.state)
    assert batch.loop.threads == 2
    for key in ("mag_rec", "mag_out"):
        assert torch.equal(getattr(states[0], key), getattr(states[1], key)), key


class _RunsCode:
    """A pickle payload that would run a shell command when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_patient_file_runs_nothing_and_fails_clearly(tmp_path):
    marker, path = tmp_path / "ran", tmp_path / "shared.pt"
    torch.save({"kind": "rehabgym.patient", "lesions": _RunsCode(marker)}, path)
    with pytest.raises(ValueError, match=r"shared\.pt: not a rehabgym\.patient file.*nothing "
                                         r"in it was run"):
        Patient.load(path)
    assert not marker.exists()


def test_a_file_of_another_kind_or_version_names_the_file_and_what_was_expected(tmp_path):
    torch.save({"cortex_config": {}, "state_dict": {}}, tmp_path / "ckpt.pt")
    with pytest.raises(ValueError, match=r"ckpt\.pt: not a rehabgym\.patient file of version 1"):
        PatientBatch.load(tmp_path / "ckpt.pt")
    torch.save({"kind": "rehabgym.patient", "version": 0}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match=r"old\.pt: version 0, expected"):
        PatientBatch.load(tmp_path / "old.pt")


@pytest.mark.parametrize(("device", "named"), [("banana", "not a torch device"),
                                               ("meta", "not supported")])
def test_a_device_that_is_not_one_is_a_clear_error(device: str, named: str) -> None:
    with pytest.raises(ConfigError, match=f"device: '{device}'.*{named}.*allowed"):
        PatientConfig(device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_clear_error_naming_what_is_allowed_here() -> None:
    with pytest.raises(ConfigError,
                       match="device: 'cuda'.*0 CUDA device.*allowed here: None, 'cpu'"):
        PatientConfig(device="cuda")


def test_a_patient_whose_cortex_steps_with_torch_recovers_as_the_default_one() -> None:
    """The torch path (the one a GPU runs) on the CPU: a therapy day of the same patient
    gives the same scores to float rounding."""
    lesion = Lesion(focal_center=(1.0, 1.0), focal_radius=0.45)
    patients = [Patient(lesion, PatientConfig(device=device), seed=3) for device in (None, "cpu")]
    for p in patients:
        p.practice(SessionPlan((0, 2), 16))
        p.rest(1)
    a, b = (p.assess() for p in patients)
    assert b.score == pytest.approx(a.score, abs=0.05)
    np.testing.assert_allclose(b.profile, a.profile, atol=0.2)


def test_the_arm_timestep_changes_the_physics_and_a_bad_one_names_itself() -> None:
    lesion = Lesion(focal_center=(1.0, 1.0), focal_radius=0.45)
    coarse = PatientBatch([lesion], PatientConfig(arm_timestep=0.01), seed=0)
    assert coarse.loop.arm.config.n_substeps == 1
    assert PatientBatch([lesion], seed=0).loop.arm.config.n_substeps == 2
    with pytest.raises(ConfigError, match="arm_timestep: 0.003 does not divide.*allowed"):
        PatientConfig(arm_timestep=0.003)
