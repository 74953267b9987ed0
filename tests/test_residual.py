"""Residual therapy: a correction of a heuristic's action; the zero correction is the heuristic,
in the training env, through a saved model, and across a resumed run."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

import rehabgym  # noqa: F401  (registers the environments)
from rehabgym.config import ConfigError
from rehabgym.evaluation.cohort import run_cohort
from rehabgym.evaluation.report import read_csv
from rehabgym.therapists import heuristic_factory, load_sb3_model, sb3_factory
from rehabgym.therapists.residual import (
    ResidualVectorEnv,
    apply_correction,
    correction_space,
    zero_correction,
)
from rehabgym.training import load_train_config, train
from rehabgym.training.warm_start import start_at_no_correction

ENV = {"horizon_days": 3, "start_day": 2, "repetition_levels": [2, 4], "cohort": "mixed",
       "all_directions": True}
KWARGS = {"config": ENV, "max_episode_steps": 3}
SEEDS = [1000000, 1000001, 1000002]
NVEC = np.array([10, 3, 4, 2])


def test_corrections_keep_replace_and_move_within_the_levels() -> None:
    base = np.array([[3, 1, 2, 0], [9, 0, 3, 1]])
    assert np.array_equal(apply_correction(base, np.tile(zero_correction(NVEC), (2, 1)), NVEC),
                          base)
    moved = apply_correction(base, np.array([[9, 2, 0, 2], [1, 0, 2, 2]]), NVEC)
    # direction value k - 1 replaces the heuristic's; levels move by -1/0/+1 and stay in range
    assert moved.tolist() == [[8, 2, 1, 1], [0, 0, 3, 1]]
    assert correction_space(NVEC).nvec.tolist() == [11, 3, 3, 3]


def _vector_env(n: int) -> ResidualVectorEnv:
    return ResidualVectorEnv(gym.make_vec("rehabgym/Therapy-v2", num_envs=n,
                                          vectorization_mode="vector_entry_point", **KWARGS),
                             "adaptive")


def test_zero_correction_reproduces_the_heuristic_across_an_autoreset() -> None:
    env = _vector_env(len(SEEDS))
    obs, _ = env.reset(seed=SEEDS)
    assert env.observation_space.contains(obs)
    zero = np.tile(zero_correction(env.nvec), (len(SEEDS), 1))
    actions, scores = [], []
    for _ in range(3):
        actions.append(env.base_actions())
        obs, _, _, truncated, info = env.step(zero)
        scores.append(info["score"])
    assert truncated.all()
    # the autoreset step admits new patients, and their heuristics start over
    obs, reward, _, _, _ = env.step(zero)
    assert np.all(reward == 0) and env.observation_space.contains(obs)
    alone = run_cohort({"adaptive": heuristic_factory("adaptive")}, "rehabgym/Therapy-v2",
                       KWARGS, SEEDS)["adaptive"]
    assert np.array_equal(np.stack(actions, axis=1), alone.actions)
    assert np.array_equal(np.stack(scores, axis=1), alone.scores[:, 1:])


def test_a_correction_outside_its_space_changes_nothing() -> None:
    env = _vector_env(1)
    env.reset(seed=1)
    before = env.base_actions()
    with pytest.raises(ValueError, match="correction"):
        env.step(np.array([[11, 1, 1, 1]]))
    assert np.array_equal(env.base_actions(), before)
    assert int(env.env.unwrapped.ward.therapy_day[0]) == 0


def test_the_starting_policy_is_the_heuristic_with_exploration() -> None:
    env = _vector_env(2)
    model = PPO("MlpPolicy", env=_adapter(env), seed=0, n_steps=3, batch_size=3)
    start_at_no_correction(model.policy, 0.8)
    obs = env.observation_space.sample()
    action, _ = model.predict(obs, deterministic=True)
    assert np.array_equal(action, np.tile(zero_correction(env.nvec), (2, 1)))
    with torch.no_grad():
        heads = model.policy.get_distribution(model.policy.obs_to_tensor(obs)[0]).distribution
    for head, zero in zip(heads, zero_correction(env.nvec)):
        assert np.allclose(head.probs[:, zero].numpy(), 0.8)


def _adapter(env: gym.vector.VectorEnv):  # noqa: ANN202 - SB3's VecEnv
    from rehabgym.training.vec_env import NativeVecEnvAdapter

    return NativeVecEnvAdapter(env)


def _config(tmp_path: Path, **over: object) -> dict:
    config = {"experiment": "residual", "env_config": ENV, "n_envs": 2, "vec_env": "native",
              "env_workers": 1, "residual": "adaptive", "total_timesteps": 16,
              "eval_every": 0, "eval_patients": 1, "final_eval_patients": 0,
              "checkpoint_every": 6, "progress_bar": False, "out_root": str(tmp_path),
              "hyperparameters": {"n_steps": 4, "batch_size": 4, "n_epochs": 2}}
    config.update(over)
    return config


def test_a_saved_residual_model_treats_patients_as_its_heuristic_until_it_learns(
        tmp_path: Path) -> None:
    run = train(load_train_config(_config(tmp_path, total_timesteps=4, checkpoint_every=0)),
                out=tmp_path / "run", command=["t"])
    model = load_sb3_model(run / "model.zip")
    start_at_no_correction(model.policy, 0.8)  # back to the start, through a saved model
    cohort = run_cohort({"model": sb3_factory(model), "adaptive": heuristic_factory("adaptive")},
                        "rehabgym/Therapy-v2", KWARGS, SEEDS)
    assert np.array_equal(cohort["model"].actions, cohort["adaptive"].actions)
    assert np.array_equal(cohort["model"].scores, cohort["adaptive"].scores)


def test_a_resumed_residual_run_is_the_uninterrupted_run(tmp_path: Path) -> None:
    config = _config(tmp_path)
    whole = train(load_train_config(config), out=tmp_path / "whole", command=["whole"])
    checkpoint = whole / "checkpoints" / "model_8_steps.zip"
    resumed = train(load_train_config(config), out=tmp_path / "resumed", resume=checkpoint,
                    command=["resumed"])
    a, b = (PPO.load(run / "model.zip").policy.state_dict() for run in (whole, resumed))
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


@pytest.mark.parametrize(("over", "named"), [
    ({"residual": "oracle"}, "residual"),
    ({"residual": "adaptive", "algorithm": "dqn"}, "residual.*dqn"),
    ({"residual": "adaptive", "vec_env": "dummy"}, "residual.*native"),
    ({"residual_keep": 1.0}, "residual_keep"),
])
def test_bad_residual_settings_fail_naming_the_field(over: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_train_config(over)


def test_a_residual_agent_that_has_not_learned_is_compared_as_its_heuristic(
        tmp_path: Path) -> None:
    config = _config(tmp_path, total_timesteps=4, checkpoint_every=0, final_eval_patients=2,
                     baselines=["adaptive"], workers=1,
                     hyperparameters={"n_steps": 2, "batch_size": 4, "learning_rate": 0.0})
    run = train(load_train_config(config), out=tmp_path / "run", command=["t"])
    report = (run / "evaluation" / "evaluation.md").read_text()
    assert "The agent's action is adaptive's on 100.0 % of the held-out patient-days" in report
    rows = {r["therapist"]: r for r in read_csv(run / "evaluation" / "evaluation.csv")}
    assert rows["ppo"]["final_score"] == rows["adaptive"]["final_score"]
