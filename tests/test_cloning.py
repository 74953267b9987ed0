"""Behaviour cloning on SB3's policy: the loss falls, the clone imitates its heuristic on
held-out patients, a training run warm-started from it compares it, and bad input is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import PPO

import rehabgym  # noqa: F401  (registers the environments)
from fake_env import FAKE_ID
from rehabgym.config import ConfigError
from rehabgym.evaluation.report import read_csv
from rehabgym.training import load_train_config, train
from rehabgym.training.warm_start import agreement, clone, demonstrations, imitation_loss


def _cfg(tmp_path: Path, **over: object):  # noqa: ANN202 - TrainConfig
    data = dict(experiment="clone", env_id=FAKE_ID, env_config={"horizon_days": 5},
                vec_env="dummy", n_envs=2, total_timesteps=20, eval_every=0, eval_patients=20,
                final_eval_patients=4, checkpoint_every=0, out_root=str(tmp_path),
                progress_bar=False, eval_in_background=False, workers=1, env_workers=1,
                warm_start="worst_first", warm_start_patients=80, warm_start_epochs=60,
                baselines=["worst_first"],
                hyperparameters={"n_steps": 10, "batch_size": 10, "n_epochs": 1})
    data.update(over)
    return load_train_config(data)


def test_cloning_lowers_its_loss_and_imitates_the_heuristic_on_held_out_patients() -> None:
    kwargs = {"config": {"horizon_days": 5}}
    obs, actions = demonstrations("worst_first", range(400), FAKE_ID, kwargs, workers=1)
    held_obs, held_actions = demonstrations("worst_first", range(10**6, 10**6 + 20), FAKE_ID,
                                            kwargs, workers=1)
    assert obs.shape == (2000, 13) and actions.shape == (2000, 4)
    from stable_baselines3.common.vec_env import DummyVecEnv

    from fake_env import FakeTherapyEnv
    model = PPO("MlpPolicy", DummyVecEnv([FakeTherapyEnv]), seed=0)
    before = imitation_loss(model.policy, obs, actions)
    chance = agreement(model.policy, held_obs, held_actions)
    losses = clone(model.policy, obs, actions, epochs=100, seed=0)
    assert losses[-1] < 0.5 * before
    agree = agreement(model.policy, held_obs, held_actions)
    # levels are constant; the direction (the worst one, of 9 values) is learned
    assert np.all(agree[1:] == 1.0)
    assert agree[0] >= 0.5 > chance[0]


def test_a_warm_started_run_saves_its_clone_and_compares_it(tmp_path: Path) -> None:
    run = train(_cfg(tmp_path), out=tmp_path / "run", command=["t"])
    report = json.loads((run / "clone.json").read_text())
    assert report["therapist"] == "worst_first" and report["loss_after"] < report["loss_before"]
    rows = {r["therapist"]: r for r in read_csv(run / "evaluation" / "evaluation.csv")}
    assert set(rows) == {"ppo", "worst_first (cloned)", "worst_first"}


@pytest.mark.parametrize(("over", "named"), [
    ({"warm_start": "oracle"}, "warm_start"),
    ({"algorithm": "dqn"}, "warm_start.*dqn"),
    ({"residual": "adaptive", "vec_env": "native"}, "warm_start.*residual"),
])
def test_bad_warm_start_settings_fail_naming_the_field(tmp_path: Path, over: dict,
                                                       named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _cfg(tmp_path, **over)


def test_the_clone_command_refuses_an_unknown_therapist_and_writes_nothing(
        tmp_path: Path) -> None:
    out = tmp_path / "clone"
    done = subprocess.run([sys.executable, "-m", "rehabgym", "clone", "--therapist", "oracle",
                           "--out", str(out)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2 and "warm_start" in done.stderr and "oracle" in done.stderr
    assert not out.exists()
