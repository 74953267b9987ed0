"""The precision action entry (`TherapyEnvConfig.precision_levels`): a fifth entry that sets
the reach score a success needs; off by default, so v0-v2 keep their four entries."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rehabgym  # noqa: F401  (registers the environments)
from rehabgym.config import ConfigError
from rehabgym.envs.actions import REST, action_space, decode_action, unflatten_action
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.evaluation.schedules import SchedulesConfig, describe, fixed_schedules
from rehabgym.therapists import heuristic_factory, make_therapist
from rehabgym.therapists.residual import apply_correction, correction_space, zero_correction

FAST = {"horizon_days": 2, "start_day": 1, "repetition_levels": [8, 16], "cohort": "mild",
        "patient": {"assessment_repeats": 1, "daily_life_reps": 4}}
PRECISE = {**FAST, "precision_levels": [0.7, 0.9]}


def test_the_entry_is_off_by_default_and_a_fifth_entry_with_levels() -> None:
    assert action_space(TherapyEnvConfig()).nvec.tolist() == [9, 3, 4, 4]
    cfg = TherapyEnvConfig(precision_levels=(0.7, 0.8, 0.9), all_directions=True)
    assert action_space(cfg).nvec.tolist() == [10, 3, 4, 4, 3]
    plan = decode_action(np.array([2, 0, 1, 3, 2]), cfg)
    assert (plan.directions, plan.distance, plan.assistance, plan.repetitions,
            plan.precision) == ((2,), 0.06, 0.25, 120, 0.9)
    assert decode_action(np.array([2, 0, 1, 3]), TherapyEnvConfig()).precision is None
    assert decode_action(np.array([REST, 0, 0, 0, 2]), cfg).repetitions == 0


def test_the_discrete_flattening_covers_the_precision_entry() -> None:
    cfg = TherapyEnvConfig(precision_levels=(0.7, 0.9), action_type="discrete")
    space = action_space(cfg)
    assert space.n == 8 * 3 * 4 * 4 * 2 + 1
    nvec = np.array([9, 3, 4, 4, 2])
    actions = unflatten_action(np.arange(space.n), nvec)
    assert actions.shape == (space.n, 5)
    assert len({tuple(a) for a in actions}) == space.n  # every index its own action
    assert actions[-1].tolist() == [REST, 0, 0, 0, 0]
    assert actions[1].tolist() == [0, 0, 0, 0, 1]  # C order: precision varies fastest


@pytest.mark.parametrize("levels, why", [
    ((0.9, 0.7), "must increase"),
    ((0.7, 1.0), "precision_levels"),
    ((0.0,), "precision_levels"),
])
def test_bad_precision_levels_name_the_field(levels, why) -> None:
    with pytest.raises(ConfigError, match=why):
        TherapyEnvConfig(precision_levels=levels)


def test_the_env_with_the_entry_passes_gymnasiums_checker() -> None:
    env = gym.make("rehabgym/Therapy-v2", config=PRECISE)
    assert env.action_space.nvec.tolist() == [9, 3, 4, 2, 2]
    check_env(env.unwrapped, skip_render_check=True)


def test_a_higher_precision_level_lowers_the_days_success_on_the_same_reaches() -> None:
    rates, scores = [], []
    for level in (0, 1):
        env = gym.make("rehabgym/Therapy-v2", config=PRECISE)
        env.reset(seed=3)
        _, _, _, _, info = env.step(np.array([0, 1, 0, 1, level]))
        rates.append(info["success_rate"])
        scores.append(info["mean_reach_score"])
    assert scores[0] == scores[1]  # the same reaches, judged by another threshold
    assert rates[1] < rates[0]


def test_heuristics_fix_the_precision_level_or_default_to_the_least_demanding() -> None:
    space = action_space(TherapyEnvConfig(precision_levels=(0.7, 0.8, 0.9)))
    obs = np.full(13, 0.5, dtype=np.float32)
    assert make_therapist("worst_first", space, 0).act(obs, {})[4] == 0
    assert make_therapist("worst_first(precision=2)", space, 0).act(obs, {})[4] == 2
    with pytest.raises(ValueError, match="precision"):
        make_therapist("worst_first(precision=3)", space, 0)
    with pytest.raises(ValueError, match="precision_levels"):
        make_therapist("worst_first(precision=1)", action_space(TherapyEnvConfig()), 0)


def test_the_adaptive_therapist_climbs_into_smaller_targets_above_the_hardest_reach() -> None:
    plain = make_therapist("adaptive", action_space(TherapyEnvConfig()), 0)
    assert len(plain.ladder) == 3 * 4
    space = action_space(TherapyEnvConfig(precision_levels=(0.7, 0.8, 0.9)))
    adaptive = make_therapist("adaptive", space, 0)
    assert adaptive.ladder[:12] == [(d, a, 0) for d, a, _ in plain.ladder]
    assert adaptive.ladder[12:] == [(2, 0, 1), (2, 0, 2)]
    obs = np.full(13, 0.5, dtype=np.float32)
    adaptive.reset(obs, {})
    adaptive.act(obs, {"score": 100.0})  # a patient at the top starts on the top rung
    assert adaptive.rung == len(adaptive.ladder) - 1
    adaptive.observe(obs, 0.0, {"success_rate": 0.1})  # a failing session: one rung down
    assert adaptive.act(obs, {})[[1, 2, 4]].tolist() == [2, 0, 1]  # a larger target first
    for _ in range(2):
        adaptive.observe(obs, 0.0, {"success_rate": 0.1})
    assert adaptive.act(obs, {})[[1, 2, 4]].tolist() == [1, 0, 0]  # then a nearer one
    fixed = make_therapist("adaptive(precision=1)", space, 0)
    assert {p for _, _, p in fixed.ladder} == {1} and len(fixed.ladder) == 12


def test_a_residual_correction_moves_the_precision_level_too() -> None:
    nvec = np.array([9, 3, 4, 4, 3])
    assert correction_space(nvec).nvec.tolist() == [10, 3, 3, 3, 3]
    base = np.array([[1, 1, 1, 1, 0], [2, 2, 0, 3, 2]])
    zero = np.tile(zero_correction(nvec), (2, 1))
    assert np.array_equal(apply_correction(base, zero, nvec), base)
    harder = apply_correction(base, np.array([[0, 1, 1, 1, 2], [0, 1, 1, 1, 2]]), nvec)
    assert harder[:, 4].tolist() == [1, 2]  # one level up, clipped at the top
    factory = heuristic_factory("adaptive")
    assert factory(action_space(TherapyEnvConfig(precision_levels=(0.7, 0.9))), 0).nvec[4] == 2


def test_schedules_enumerate_and_describe_the_precision_levels() -> None:
    env = TherapyEnvConfig(all_directions=True, precision_levels=(0.7, 0.9))
    cfg = SchedulesConfig(rules=("worst_first",), env=env)
    specs = fixed_schedules(cfg)
    assert len(specs) == 3 * 4 * 4 * 2
    assert describe(specs[1], env) == "worst_first 6 cm, assistance 0, 15 reps, precision 0.9"
    plain = SchedulesConfig(rules=("worst_first",))
    assert describe(fixed_schedules(plain)[0], plain.env) == \
        "worst_first 6 cm, assistance 0, 15 reps"


def test_an_adaptive_state_saved_with_its_old_two_entry_ladder_still_restores() -> None:
    space = action_space(TherapyEnvConfig(precision_levels=(0.7, 0.9)))
    adaptive = make_therapist("adaptive", space, 0)
    state = adaptive.get_state()
    assert "ladder" not in state  # fixed at construction, not memory
    old = {**state, "rung": 4, "ladder": [[0, 3], [1, 3]]}  # as saved before the entry existed
    adaptive.set_state(old)
    assert adaptive.rung == 4 and adaptive.ladder[-1] == (2, 0, 1)
