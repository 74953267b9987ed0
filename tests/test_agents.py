"""The scripts in agents/: each takes --help, runs a tiny job on the public API, and the
RL Zoo hyperparameters are a valid PPO configuration for the registered environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import rehabgym  # noqa: F401  (registers the environments)

AGENTS = Path(__file__).resolve().parents[1] / "agents"


def _script(name: str, *args: str, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, str(AGENTS / name), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("name", ["ppo.py", "custom_therapist.py", "rllib_ppo.py"])
def test_scripts_explain_themselves(name: str, tmp_path: Path) -> None:
    assert "usage:" in _script(name, "--help", cwd=tmp_path)


def test_ppo_script_trains_logs_and_compares(tmp_path: Path) -> None:
    out = _script("ppo.py", "--timesteps", "8", "--n-envs", "2", "--horizon", "2",
                  "--eval-patients", "1", "--logdir", "tb", cwd=tmp_path)
    assert "PPO" in out and "no therapy" in out
    assert (tmp_path / "tb" / "model.zip").is_file()
    (events,) = (tmp_path / "tb").glob("PPO_*/events.out.tfevents.*")
    acc = EventAccumulator(str(events))
    acc.Reload()
    assert "time/fps" in acc.Tags()["scalars"]


def test_custom_therapist_is_compared_with_the_baselines(tmp_path: Path) -> None:
    out = _script("custom_therapist.py", "--patients", "2", "--days", "2", cwd=tmp_path)
    rows = [line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ")]
    assert rows[1:] == ["weakest_with_help", "no_therapy", "round_robin", "worst_first"]


def test_rl_zoo_hyperparameters_make_a_ppo_for_the_environment() -> None:
    (env_id, hyper), = yaml.safe_load((AGENTS / "rl_zoo.yml").read_text()).items()
    assert env_id in gym.registry
    zoo_only = {"n_envs", "n_timesteps", "policy", "normalize"}
    venv = make_vec_env(env_id, n_envs=hyper["n_envs"])
    model = PPO(hyper["policy"], venv, **{k: v for k, v in hyper.items() if k not in zoo_only})
    assert model.n_steps * model.n_envs % model.batch_size == 0
    venv.close()
