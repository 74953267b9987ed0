"""The therapist environments: registry, Gymnasium/SB3 checks, determinism, rewards, actions,
wrappers and vector environments. Tiny episodes (2 days, a few repetitions) keep it fast."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import SubprocVecEnv
from tolerance import TIGHT

import rehabgym  # noqa: F401  (registers the environments)
from rehabgym.config import ConfigError
from rehabgym.envs import ENV_IDS
from rehabgym.envs.actions import ALL, REST, decode_action, unflatten_action
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.envs.shards import ShardedVectorEnv
from rehabgym.envs.therapy import TherapyEnv
from rehabgym.envs.vector import TherapyVectorEnv
from rehabgym.evaluation.schedules import SchedulesConfig

FAST = {"horizon_days": 2, "start_day": 1, "repetition_levels": [2, 4], "cohort": "mild",
        "patient": {"assessment_repeats": 1, "daily_life_reps": 4}}


def make(env_id: str = ENV_IDS[0], **kwargs) -> gym.Env:
    return gym.make(env_id, config={**FAST, **kwargs.pop("config", {})}, **kwargs)


def same_state(a, b) -> bool:
    """Deep equality of (nested) patient states: dicts, sequences, arrays and tensors."""
    if dataclasses.is_dataclass(a):
        return type(a) is type(b) and same_state(vars(a), vars(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b))
    if hasattr(a, "detach"):  # torch tensor, without importing torch here
        a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b or (a != a and b != b)  # NaN == NaN here


def rollout(env: gym.Env, seed: int, actions: list) -> list:
    obs, info = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out += [obs, reward, terminated, truncated]
    return out


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id):
    env = make(env_id)
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env(env_id):
    sb3_check_env(make(env_id).unwrapped, warn=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_episode_bit_for_bit(env_id):
    actions = [np.array([2, 1, 0, 1]), np.array([8, 0, 0, 0])]
    a = rollout(make(env_id), 7, actions)
    b = rollout(make(env_id), 7, actions)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def test_different_seeds_different_patients():
    env = make()
    _, info0 = env.reset(seed=0)
    _, info1 = env.reset(seed=1)
    assert info0["lesion"] != info1["lesion"]
    # The initial observation varies with the seed, element by element somewhere.
    obs = [env.reset(seed=s)[0] for s in range(3)]
    assert not np.array_equal(obs[0], obs[1])


def test_reset_options_fix_the_patient():
    env = make()
    fixed = {"focal_center": [1.0, 1.0], "focal_radius": 0.5, "seed": 3}
    _, a = env.reset(seed=0, options={"lesion": fixed})
    _, b = env.reset(seed=1, options={"lesion": fixed})
    assert a["lesion"]["focal_radius"] == b["lesion"]["focal_radius"] == 0.5
    with pytest.raises(ValueError, match="unknown key"):
        env.reset(options={"lesoin": fixed})


def test_reward_is_the_score_change_minus_the_cost_of_the_reps():
    env = make(config={"cost_per_rep": 0.05})
    _, info = env.reset(seed=3)
    for action, reps in (([0, 0, 0, 1], 4), ([8, 0, 0, 0], 0)):  # 4 reps, then a rest day
        before = info["score"]
        _, reward, terminated, _, info = env.step(np.array(action))
        assert type(reward) is float and not terminated
        assert info["reward_gain"] == info["score"] - before  # the actual change of the score
        assert info["reward_cost"] == pytest.approx(0.05 * reps)
        assert reward == info["reward_gain"] - info["reward_cost"]
    assert info["repetitions"] == 0  # the rest day practises nothing and costs nothing


def test_observation_and_info_carry_the_latest_sessions_success_rate():
    env = make(config={"horizon_days": 3, "repetition_levels": [8]})
    obs, _ = env.reset(seed=4)
    assert obs[12] == 0.0  # no session yet
    obs, _, _, _, info = env.step(np.array([0, 1, 0, 0]))  # 8 unassisted reps at 10 cm
    assert 0.0 <= info["success_rate"] <= 1.0 and 0.0 <= info["mean_reach_score"] <= 1.0
    assert info["success_rate"] * 8 == round(info["success_rate"] * 8)  # a count of 8 reaches
    assert obs[12] == np.float32(info["success_rate"])
    practised = obs[12]
    obs, _, _, _, info = env.step(np.array([8, 0, 0, 0]))  # a rest day: nothing new
    assert np.isnan(info["success_rate"]) and obs[12] == practised
    obs, _, _, _, info = env.step(np.array([0, 0, 3, 0]))  # full assistance: every reach
    assert info["success_rate"] == 1.0 and obs[12] == 1.0


def test_truncation_after_horizon():
    env = make()
    env.reset(seed=0)
    flags = [env.step(np.array([8, 0, 0, 0]))[3] for _ in range(FAST["horizon_days"])]
    assert flags == [False] * (FAST["horizon_days"] - 1) + [True]


@pytest.mark.parametrize("bad", [
    np.array([9, 0, 0, 0]),  # direction out of range
    np.array([0, 0, 0, 2]),  # repetition level out of range (2 levels)
    np.array([-1, 0, 0, 0]),
    np.array([0, 0, 0]),  # wrong shape
    np.array([0.0, 0.0, 0.0, 0.0]),  # wrong dtype
    np.array([True, False, False, False]),
    "rest",
])
def test_invalid_action_raises_and_leaves_patient_unchanged(bad):
    env = make()
    obs, _ = env.reset(seed=0)
    before = pickle.loads(pickle.dumps(env.unwrapped.patient_state))
    with pytest.raises(ValueError, match="invalid action") as err:
        env.step(bad)
    assert "MultiDiscrete" in str(err.value)
    assert same_state(before, env.unwrapped.patient_state)
    assert np.array_equal(obs, env.unwrapped.ward.observations()[0])
    assert env.unwrapped.ward.therapy_day[0] == 0


def test_discrete_actions():
    env = make(action_type="discrete")
    space = env.action_space
    assert isinstance(space, gym.spaces.Discrete) and space.n == 8 * 3 * 4 * 2 + 1
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=0)
    assert env.step(space.n - 1)[4]["repetitions"] == 0  # the last index is the rest day
    assert env.step(1)[4]["repetitions"] == 4
    with pytest.raises(ValueError, match="invalid action"):
        env.step(space.n)


def test_all_directions_action_spreads_a_session_over_every_direction():
    env = make(all_directions=True)
    assert list(env.action_space.nvec) == [10, 3, 4, 2]
    check_env(env.unwrapped, skip_render_check=True)
    cfg = env.unwrapped.config
    assert decode_action(np.array([ALL, 1, 0, 1]), cfg).directions == tuple(range(8))
    assert decode_action(np.array([3, 1, 0, 1]), cfg).directions == (3,)
    env.reset(seed=0)
    assert env.step(np.array([ALL, 1, 0, 1]))[4]["repetitions"] == 4
    plain = make()
    plain.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action"):
        plain.step(np.array([ALL, 1, 0, 1]))  # without the option, 9 is outside the space

    flat = make(all_directions=True, action_type="discrete").action_space
    assert flat.n == 9 * 3 * 4 * 2 + 1
    nvec = np.array([10, 3, 4, 2])
    np.testing.assert_array_equal(
        unflatten_action(np.array([0, 8 * 24 - 1, 8 * 24, flat.n - 2, flat.n - 1]), nvec),
        [[0, 0, 0, 0], [7, 2, 3, 1], [ALL, 0, 0, 0], [ALL, 2, 3, 1], [REST, 0, 0, 0]])


def test_config_files_and_strict_keys(tmp_path):
    for name in ("mild", "moderate", "severe", "mixed"):
        cfg = gym.make(ENV_IDS[0], config=f"configs/env/{name}.yaml").unwrapped.config
        assert cfg.cohort == name
    cfg = gym.make(ENV_IDS[0], config="configs/env/mixed_all_directions.yaml").unwrapped.config
    assert cfg.all_directions and cfg.cohort == "mixed"
    assert dataclasses.replace(SchedulesConfig().env, cohort="mixed") == cfg  # the search's
    bad = tmp_path / "bad.yaml"
    bad.write_text("horizon_dayz: 3\n")
    with pytest.raises(ConfigError, match="horizon_dayz"):
        TherapyEnv(config=bad)
    with pytest.raises(ConfigError, match="horizon_dayz"):
        TherapyEnv(config={"horizon_dayz": 3})
    env = TherapyEnv(config="configs/env/tiny.yaml", horizon_days=5)
    assert env.config.horizon_days == 5 and env.config.repetition_levels == (2, 4)
    with pytest.raises(ValueError, match=r"^cohort: unknown preset 'mildd'; allowed: .*'mild'"):
        TherapyEnvConfig(cohort="mildd")


def test_render_rgb_array():
    env = make(render_mode="rgb_array")
    env.reset(seed=0)
    env.step(np.array([0, 0, 0, 0]))
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.std() > 0


def test_usual_wrappers():
    env = make()
    env = gym.wrappers.NormalizeObservation(gym.wrappers.FlattenObservation(
        gym.wrappers.RecordEpisodeStatistics(env)))
    env.reset(seed=0)
    env.action_space.seed(0)
    done, info = False, {}
    while not done:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        done = terminated or truncated
    assert info["episode"]["l"] == FAST["horizon_days"]


@pytest.mark.parametrize("vector_cls", [gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv])
def test_gymnasium_vector_envs(vector_cls):
    envs = vector_cls([lambda: make() for _ in range(2)])
    try:
        obs, infos = envs.reset(seed=0)
        assert obs.shape == (2, 13)
        for _ in range(FAST["horizon_days"]):
            obs, rewards, _, truncations, infos = envs.step(np.array([[0, 0, 0, 0]] * 2))
        assert truncations.all()
    finally:
        envs.close()


def test_sb3_subproc_vec_env():
    venv = SubprocVecEnv([lambda: make() for _ in range(2)])
    try:
        venv.seed(0)
        obs = venv.reset()
        assert obs.shape == (2, 13)
        for _ in range(FAST["horizon_days"]):
            obs, rewards, dones, infos = venv.step(np.array([[1, 0, 0, 0]] * 2))
        assert dones.all() and "terminal_observation" in infos[0]
    finally:
        venv.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_vec_native_steps_and_autoresets(env_id):
    n, horizon = 3, FAST["horizon_days"]
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                        config=FAST)
    assert isinstance(envs.unwrapped, TherapyVectorEnv)
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, infos = envs.reset(seed=5)
    assert obs.shape == (n, *envs.single_observation_space.shape)
    assert obs.dtype == envs.single_observation_space.dtype
    assert len(set(infos["lesion"]["focal_radius"])) == n  # a different patient per sub-env
    actions = np.array([[0, 0, 0, 1], [8, 0, 0, 0], [3, 2, 2, 0]])
    for day in range(horizon):
        obs, rewards, terminations, truncations, infos = envs.step(actions)
        assert obs in envs.observation_space and rewards.dtype == np.float64
        assert not terminations.any()
        assert truncations.all() == (day == horizon - 1)
        np.testing.assert_array_equal(rewards, infos["reward_gain"] - infos["reward_cost"])
    first = infos["lesion"]["focal_radius"].copy()
    obs, rewards, terminations, truncations, infos = envs.step(actions)  # the autoreset step
    assert not rewards.any() and not truncations.any()
    assert (infos["therapy_day"] == 0).all() and (obs[:, 9] == 0).all()
    assert not np.array_equal(first, infos["lesion"]["focal_radius"])
    with pytest.raises(ValueError, match="invalid action"):
        envs.step(np.array([[9, 0, 0, 0]] * n))
    envs.close()


def test_native_sub_env_i_is_the_single_env_of_seed_s_plus_i_day_after_day():
    """Sub-environment i of the native env reset with seed s is the single env reset with
    s + i: the same lesion and the same scores to the last digit, day after day."""
    n, actions = 3, np.array([[0, 1, 0, 1], [3, 0, 0, 1], [8, 0, 0, 0]])
    vec = TherapyVectorEnv(n, config={**FAST, "horizon_days": 3})
    _, vinfo = vec.reset(seed=11)
    singles = [make(config={"horizon_days": 3}) for _ in range(n)]
    infos = [env.reset(seed=11 + i)[1] for i, env in enumerate(singles)]
    for day in range(4):
        for i, info in enumerate(infos):
            assert info["score"] == pytest.approx(vinfo["score"][i], rel=TIGHT), (day, i)
            assert info["lesion"]["focal_radius"] == vinfo["lesion"]["focal_radius"][i]
        if day == 3:
            break
        vinfo = vec.step(actions)[4]
        infos = [env.step(actions[i])[4] for i, env in enumerate(singles)]
    vec.close()


def test_registry_on_import_rehabgym():
    code = ("import gymnasium as gym, rehabgym; "
            "print(*sorted(i for i in gym.registry if i.startswith('rehabgym/')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out == " ".join(sorted(ENV_IDS)) + "\n"  # registered, and nothing else printed
    for env_id in ENV_IDS:
        assert gym.spec(env_id).max_episode_steps == TherapyEnvConfig().horizon_days


def test_the_native_env_split_over_processes_is_the_same_patients():
    """`ShardedVectorEnv`: sub-environment i is the unsplit env's sub-environment i (lesion,
    scores to float rounding, rewards, truncation, info masks), its state continues exactly,
    and a shard's error reaches the caller with its cause."""
    n, cfg = 3, {**FAST, "horizon_days": 2}
    actions = np.array([[0, 1, 0, 1], [3, 0, 0, 1], [8, 0, 0, 0]])
    whole = TherapyVectorEnv(n, config=cfg)
    split = ShardedVectorEnv(ENV_IDS[0], n, 2, config=cfg)
    try:
        assert split.shards == 2 and split.single_action_space == whole.single_action_space
        runs = []
        for env in (whole, split):
            obs, info = env.reset(seed=5)
            steps = [(obs, info)] + [env.step(actions) for _ in range(3)]
            runs.append(steps)
        for day, (a, b) in enumerate(zip(*runs)):
            np.testing.assert_allclose(b[0], a[0], rtol=TIGHT, err_msg=str(day))
            ia, ib = a[-1], b[-1]
            assert sorted(ia) == sorted(ib)
            np.testing.assert_allclose(ib["score"], ia["score"], rtol=TIGHT)
            assert np.array_equal(ib["_score"], ia["_score"])
            assert np.array_equal(ib["lesion"]["focal_radius"], ia["lesion"]["focal_radius"])
            if day:
                # a reward is a difference of two scores on a 0-100 scale: its rounding is
                # the scores', not a fraction of the (small) difference
                np.testing.assert_allclose(b[1], a[1], rtol=0, atol=100 * TIGHT)
                assert np.array_equal(b[3], a[3])  # truncated on day 2, reset on day 3
        assert runs[1][2][3].all() and not runs[1][3][3].any()

        split.reset(seed=9)
        state = split.get_state()
        after = split.step(actions)[0]
        split.set_state(state)
        assert np.array_equal(split.step(actions)[0], after)
        with pytest.raises(ValueError, match="of 1 shards, this env has 2"):
            split.set_state({"shards": state["shards"][:1]})
        with pytest.raises(ValueError, match="invalid action") as caught:
            split.step(np.full((n, 4), 99))
        assert "in a shard" in str(caught.value.__cause__)
    finally:
        whole.close()
        split.close()
