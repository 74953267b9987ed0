"""Therapists: the heuristics, the SB3 adapter, the registry and its spec parser."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import DQN, PPO

from fake_env import FakeTherapyEnv
from rehabgym.envs.actions import ALL, REST
from rehabgym.therapists import HEURISTICS, SB3Therapist, make_therapist, parse_spec
from rehabgym.therapists.heuristics import AdaptiveTherapist, LearningProgress, WorstDirectionFirst


@pytest.mark.parametrize("name", sorted(HEURISTICS))
def test_heuristics_obey_the_action_space(name: str) -> None:
    env = FakeTherapyEnv(horizon_days=12, all_directions=True)
    therapist = make_therapist(name, env.action_space, seed=3)
    obs, info = env.reset(seed=1)
    therapist.reset(obs, info)
    for _ in range(12):
        action = therapist.act(obs, info)
        assert env.action_space.contains(action), (name, action)
        obs, reward, _, _, info = env.step(action)
        therapist.observe(obs, reward, info)


def test_heuristics_choose_as_documented() -> None:
    env = FakeTherapyEnv()
    obs, info = env.reset(seed=0)
    assert make_therapist("no_therapy", env.action_space).act(obs, info)[0] == REST
    worst = WorstDirectionFirst(env.action_space).act(obs, info)[0]
    assert worst == int(np.argmin(info["profile"]))
    rr = make_therapist("round_robin", env.action_space)
    assert [rr.act(obs, info)[0] for _ in range(9)] == [0, 1, 2, 3, 4, 5, 6, 7, 0]
    cp = make_therapist("challenge_point", env.action_space).act(obs, info)[0]
    assert cp == int(np.argmin(np.abs(info["profile"] / 100 - 0.7)))
    # the profile can come from the observation alone
    assert WorstDirectionFirst(env.action_space).act(obs, {})[0] == worst


def test_learning_progress_prefers_the_direction_that_moves() -> None:
    env = FakeTherapyEnv(horizon_days=40)
    lp = LearningProgress(env.action_space, seed=0, epsilon=0.0)
    obs, info = env.reset(seed=0)
    initial = info["profile"].copy()
    lp.reset(obs, info)
    for _ in range(8):  # every direction tried once, in order
        obs, r, *_, info = env.step(lp.act(obs, info))
        lp.observe(obs, r, info)
    assert lp.tried.all()
    # the toy gain is largest where the score was lowest
    assert int(np.argmax(np.abs(lp.progress))) == int(np.argmin(initial))
    assert lp.act(obs, info)[0] == int(np.argmin(initial))


def test_random_therapist_is_seeded() -> None:
    space = FakeTherapyEnv().action_space
    a = [make_therapist("random", space, seed=5).act(np.zeros(12), {}) for _ in range(2)]
    np.testing.assert_array_equal(*a)


def test_unknown_therapist_names_the_allowed() -> None:
    with pytest.raises(ValueError, match="worst_first"):
        make_therapist("best_ever", FakeTherapyEnv().action_space)


def test_sb3_therapist_unflattens_discrete_actions() -> None:
    space = FakeTherapyEnv().action_space
    t = SB3Therapist(model=SimpleNamespace(action_space=spaces.Discrete(8 * 48 + 1)),
                     action_space=space)
    flat = np.array([0, 1, 8 * 48 - 1, 8 * 48])
    np.testing.assert_array_equal(
        t.unflatten(flat), [[0, 0, 0, 0], [0, 0, 0, 1], [7, 2, 3, 3], [REST, 0, 0, 0]])


@pytest.mark.parametrize("model_space", [spaces.Discrete(8 * 48 * 2 + 1),
                                         spaces.MultiDiscrete([9, 3, 4, 4, 2])])
def test_a_model_of_another_action_space_is_refused_naming_both(model_space) -> None:
    space = FakeTherapyEnv().action_space  # [9, 3, 4, 4]: no precision entry
    with pytest.raises(ValueError, match="trained on the action space"):
        SB3Therapist(model=SimpleNamespace(action_space=model_space), action_space=space)


def test_sb3_therapist_samples_its_policy_with_its_own_seed() -> None:
    env = FakeTherapyEnv()
    model = PPO("MlpPolicy", env, n_steps=10, batch_size=10, seed=0, device="cpu")
    obs = np.repeat(env.reset(seed=0)[0][None], 4000, axis=0)

    def sampled(seed: int) -> np.ndarray:
        return SB3Therapist(model, env.action_space, seed=seed, deterministic=False).act_batch(obs)

    a, b = sampled(1), sampled(1)
    np.testing.assert_array_equal(a, b)
    assert (a != sampled(2)).any()
    assert env.action_space.contains(a[0]) and len(np.unique(a[:, 0])) == 9
    probs = model.policy.get_distribution(torch.as_tensor(obs[:1])).distribution[3].probs[0]
    freq = np.bincount(a[:, 3], minlength=4) / len(a)
    np.testing.assert_allclose(freq, probs.detach().numpy(), atol=0.03)
    dqn = DQN("MlpPolicy", FakeTherapyEnv(action_type="discrete"), device="cpu")
    with pytest.raises(ValueError, match="deterministic=False needs a policy-gradient"):
        SB3Therapist(dqn, env.action_space, deterministic=False).act_batch(obs[:1])


def test_heuristics_take_arguments_in_their_spec() -> None:
    space = FakeTherapyEnv().action_space
    t = make_therapist("round_robin(distance=0, assistance=0, reps=3)", space, seed=0)
    np.testing.assert_array_equal(t.act(None, {}), [0, 0, 0, 3])
    assert make_therapist("challenge_point(target=0.5)", space).target == 0.5
    with pytest.raises(ValueError, match=r"allowed arguments of round_robin: \['assistance'"):
        make_therapist("round_robin(levels=1)", space)
    with pytest.raises(ValueError, match="not a number"):
        make_therapist("round_robin(reps=x)", space)
    with pytest.raises(ValueError, match="reps: level 9"):
        make_therapist("round_robin(reps=9)", space)
    assert parse_spec(" worst_first( distance=1,reps=3 ) ") == ("worst_first",
                                                               {"distance": 1, "reps": 3})
    with pytest.raises(ValueError, match="is not one of"):
        parse_spec("best_first")


def test_adaptive_at_one_distance_climbs_the_assistance_levels_only() -> None:
    space = spaces.MultiDiscrete([9, 3, 4, 4])
    t = AdaptiveTherapist(space, distance=1)
    assert t.ladder == [(1, 3, 0), (1, 2, 0), (1, 1, 0), (1, 0, 0)]  # most assisted first, 10 cm
    info = {"score": 0.0, "profile": np.full(8, 50.0)}
    t.reset(np.zeros(13), info)
    assert tuple(t.act(np.zeros(13), info)[1:3]) == (1, 3)
    t.observe(np.zeros(13), 0.0, {**info, "success_rate": 1.0})
    assert tuple(t.act(np.zeros(13), info)[1:3]) == (1, 2)
    assert len(AdaptiveTherapist(space).ladder) == 3 * 4  # without a distance: every rung


def test_adaptive_climbs_after_success_steps_down_after_failure_and_picks_the_worst() -> None:
    space = spaces.MultiDiscrete([9, 3, 4, 4])
    t = AdaptiveTherapist(space, target=0.7, band=0.1)
    profile = np.array([60.0, 20, 80, 70, 90, 50, 65, 75])
    info = {"score": 50.0, "profile": profile}
    t.reset(np.zeros(13), info)
    first = t.act(np.zeros(13), info)
    assert first[0] == 1  # the lowest direction
    rung = t.ladder.index((int(first[1]), int(first[2]), 0))
    assert rung == round(0.5 * (len(t.ladder) - 1))  # the start follows the score
    t.observe(np.zeros(13), 0.0, {**info, "success_rate": 0.95})
    harder = t.act(np.zeros(13), info)
    assert t.ladder.index((int(harder[1]), int(harder[2]), 0)) == rung + 1
    for rate in (0.75, float("nan")):  # within the band, or a rest day: stay
        t.observe(np.zeros(13), 0.0, {**info, "success_rate": rate})
        assert t.ladder.index((*(int(x) for x in t.act(np.zeros(13), info)[1:3]), 0)) == rung + 1
    t.observe(np.zeros(13), 0.0, {**info, "success_rate": 0.2})
    t.observe(np.zeros(13), 0.0, {**info, "success_rate": 0.2})
    easier = t.act(np.zeros(13), info)
    assert t.ladder.index((int(easier[1]), int(easier[2]), 0)) == rung - 1


def test_adaptive_ladder_runs_from_most_assisted_and_nearest_to_unassisted_and_farthest() -> None:
    t = AdaptiveTherapist(spaces.MultiDiscrete([9, 3, 4, 4]))
    assert t.ladder[0] == (0, 3, 0) and t.ladder[-1] == (2, 0, 0)
    assert len(set(t.ladder)) == 12
    weak = AdaptiveTherapist(spaces.MultiDiscrete([9, 3, 4, 4]))
    weak.reset(np.zeros(13), {"score": 5.0})
    strong = AdaptiveTherapist(spaces.MultiDiscrete([9, 3, 4, 4]))
    strong.reset(np.zeros(13), {"score": 95.0})
    a_weak = weak.act(np.zeros(13), {"score": 5.0, "profile": np.full(8, 5.0)})
    a_strong = strong.act(np.zeros(13), {"score": 95.0, "profile": np.full(8, 95.0)})
    assert a_weak[2] == 3 and a_strong[2] == 0  # full assistance for the weak, none for the strong
    with pytest.raises(ValueError, match="target"):
        AdaptiveTherapist(spaces.MultiDiscrete([9, 3, 4, 4]), target=1.5)


def test_all_directions_needs_the_all_directions_action() -> None:
    with pytest.raises(ValueError, match="all_directions=True"):
        make_therapist("all_directions", FakeTherapyEnv().action_space)
    t = make_therapist("all_directions", FakeTherapyEnv(all_directions=True).action_space)
    assert t.act(np.zeros(13), {})[0] == ALL
