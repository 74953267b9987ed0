"""Training: the config, runs on a stand-in env (TensorBoard, checkpoints, resume, reward
normalisation, the horizon), and a tiny run on the real environment through the CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import rehabgym  # noqa: F401  (registers the environments)
from fake_env import FAKE_ID, FakeTherapyEnv
from rehabgym.config import ConfigError
from rehabgym.evaluation.report import read_csv
from rehabgym.therapists import therapist_factory
from rehabgym.training import TrainConfig, load_train_config, train
from rehabgym.training.curve import save_learning_curve
from rehabgym.training.vec_env import NativeVecEnvAdapter, make_train_env


def fake_cfg(tmp_path: Path, **over: Any) -> TrainConfig:
    data = dict(experiment="fake", env_id=FAKE_ID, env_config={"horizon_days": 5},
                vec_env="dummy", n_envs=2, total_timesteps=40, eval_every=20, eval_patients=3,
                final_eval_patients=4, checkpoint_every=20, out_root=str(tmp_path),
                progress_bar=False, eval_in_background=False, workers=1,
                hyperparameters={"n_steps": 10, "batch_size": 10, "n_epochs": 1})
    data.update(over)
    return load_train_config(data)


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(("data", "named"), [
    ({"algorithm": "sac"}, "algorithm"),
    ({"total_steps": 10}, "total_steps"),
    ({"total_timesteps": -5}, "total_timesteps"),
    ({"n_envs": 0}, "n_envs"),
    ({"hyperparameters": {"learnin_rate": 1e-3}}, "learnin_rate"),
    ({"baselines": ["oracle"]}, "baselines"),
    ({"baselines": ["round_robin(assist=0)"]}, "baselines.*assistance"),
    ({"env_config": "configs/env/nope.yaml"}, "env_config"),
    ({"algorithm": "dqn", "deterministic_eval": False}, "deterministic_eval"),
])
def test_bad_config_fails_naming_the_key(data: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_train_config(data)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_train_config(tmp_path / "nope.yaml")
    proc = subprocess.run([sys.executable, "-m", "rehabgym", "train", "--config",
                           str(tmp_path / "nope.yaml")], capture_output=True, text=True)
    assert proc.returncode == 2 and "nope.yaml" in proc.stderr


@pytest.mark.parametrize("name", ["ppo_therapy", "ppo_therapy_long", "ppo_residual_long",
                                  "ppo_residual_long_keep05", "a2c_therapy", "dqn_therapy"])
def test_shipped_configs_load(name: str) -> None:
    root = Path(__file__).resolve().parent.parent
    cfg = load_train_config(root / "configs" / f"{name}.yaml")
    assert cfg.experiment == name


# ---------------------------------------------------------------- training (stand-in env)


def _scalars(run: Path, histograms: list[str] | None = None
             ) -> tuple[dict[str, list], list[str]]:
    scalars: dict[str, list] = {}
    images: list[str] = []
    # one accumulator per folder, as TensorBoard reads it (it purges what a resume replaced)
    for folder in sorted({e.parent for e in run.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0,
                                                           "histograms": 0})
        acc.Reload()
        if histograms is not None:
            histograms += acc.Tags()["histograms"]
        for tag in acc.Tags()["scalars"]:
            scalars.setdefault(tag, []).extend(e.step for e in acc.Scalars(tag))
        images += acc.Tags()["images"]
    return scalars, images


@pytest.mark.parametrize("algorithm", ["ppo", "a2c", "dqn"])
def test_training_logs_recovery_and_checkpoints(tmp_path: Path, algorithm: str) -> None:
    hyper = {"ppo": {"n_steps": 10, "batch_size": 10, "n_epochs": 1}, "a2c": {"n_steps": 5},
             "dqn": {"learning_starts": 10, "buffer_size": 100}}[algorithm]
    cfg = fake_cfg(tmp_path, algorithm=algorithm, hyperparameters=hyper)
    run = train(cfg, command=["test"])
    assert (run / "config.yaml").is_file() and (run / "command.txt").read_text() == "test\n"
    assert (run / "model.zip").is_file()
    assert sorted(p.name for p in (run / "checkpoints").glob("*.zip"))
    histograms: list[str] = []
    scalars, images = _scalars(run, histograms)
    for tag in ("recovery/final_score", "recovery/gain_over_no_therapy", "recovery/score_dir_0",
                "therapy/dose", "reference/final_score/adaptive",
                "reference/final_score/no_therapy"):
        assert tag in scalars, sorted(scalars)
    assert 0 in scalars["recovery/final_score"] and 40 in scalars["recovery/final_score"]
    # the references are drawn at every evaluation, beside the agent
    assert scalars["reference/final_score/adaptive"] == scalars["recovery/final_score"]
    assert {"actions/direction", "actions/repetitions"} <= set(histograms)
    assert any("schedule_by_severity" in tag for tag in images)
    assert any("recovery" in t for t in images)
    curve = read_csv(run / "learning_curve.csv")  # the curve is what TensorBoard holds
    assert [int(r["training_days"]) for r in curve if r["therapist"] == "agent"] == sorted(
        set(scalars["recovery/final_score"]))
    assert {r["therapist"] for r in curve} == {"agent", "adaptive", "no_therapy"}
    assert (run / "learning_curve.png").stat().st_size > 0
    rows = read_csv(run / "evaluation" / "evaluation.csv")
    assert [r["therapist"] for r in rows][:2] == [algorithm, "no_therapy"]
    assert (run / "evaluation" / "evaluation.md").read_text().count("\n|") >= 7


def test_sampled_evaluation_reports_the_argmax_policy_too(tmp_path: Path) -> None:
    cfg = fake_cfg(tmp_path, deterministic_eval=False, total_timesteps=20,
                   baselines=["no_therapy"])
    run = train(cfg, command=["test"])
    rows = read_csv(run / "evaluation" / "evaluation.csv")
    assert [r["therapist"] for r in rows] == ["ppo", "ppo_argmax", "no_therapy"]
    space = FakeTherapyEnv().action_space
    for sample in (False, True):
        agent = therapist_factory(f"ppo:{run / 'model.zip'}", sample=sample)(space, 0)
        assert agent.deterministic is not sample


def test_resume_continues_the_timestep_count(tmp_path: Path) -> None:
    cfg = fake_cfg(tmp_path, final_eval_patients=0)
    run = train(cfg, command=["first"])
    checkpoint = run / "checkpoints" / "model_20_steps.zip"
    assert checkpoint.is_file()
    cfg.total_timesteps = 60
    again = train(cfg, resume=checkpoint, command=["resume"])
    assert again == run
    assert PPO.load(run / "model.zip").num_timesteps == 60
    steps = _scalars(run)[0]["recovery/final_score"]
    assert max(steps) == 60 and 40 in steps


def test_a_run_without_evaluations_has_no_learning_curve(tmp_path: Path) -> None:
    assert save_learning_curve(tmp_path) is False
    assert not list(tmp_path.iterdir())


def test_reward_normalization_is_saved_and_restored_on_resume(tmp_path: Path) -> None:
    cfg = fake_cfg(tmp_path, final_eval_patients=0, normalize_reward=True)
    run = train(cfg, command=["first"])
    stats = run / "checkpoints" / "model_vecnormalize_20_steps.pkl"
    assert stats.is_file() and (run / "vecnormalize.pkl").is_file()
    saved = VecNormalize.load(str(stats), make_train_env(cfg)).ret_rms
    assert saved.count > 1 and saved.var > 0
    cfg.total_timesteps = 60
    train(cfg, resume=run / "checkpoints" / "model_20_steps.zip", command=["resume"])
    final = VecNormalize.load(str(run / "vecnormalize.pkl"), make_train_env(cfg)).ret_rms
    assert final.count > saved.count + 30  # went on from the checkpoint's statistics
    stats.unlink()
    with pytest.raises(ConfigError, match="resume: normalize_reward"):
        train(cfg, resume=run / "checkpoints" / "model_20_steps.zip", command=["again"])


@pytest.mark.parametrize("bootstrap", [True, False])
def test_bootstrap_horizon_decides_whether_the_last_day_is_terminal(bootstrap: bool) -> None:
    cfg = load_train_config(dict(env_kwargs={"horizon_days": 2}, n_envs=2, vec_env="native",
                                 bootstrap_horizon=bootstrap))
    venv = make_train_env(cfg)
    venv.reset()
    infos = []
    for _ in range(2):
        _, _, done, infos = venv.step(np.zeros((2, 4), dtype=np.int64))
    venv.close()
    assert done.all()
    assert [info.get("TimeLimit.truncated", False) for info in infos] == [bootstrap] * 2


# ---------------------------------------------------------------- the real environment


TINY_ENV = {"horizon_days": 3, "start_day": 2, "repetition_levels": [2, 4], "cohort": "mixed"}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "rehabgym", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def test_tiny_real_training_run_logs_resumes_and_evaluates(tmp_path: Path) -> None:
    config = {"experiment": "tiny", "env_config": TINY_ENV, "n_envs": 2, "vec_env": "native",
              "total_timesteps": 12, "eval_every": 6, "eval_patients": 2,
              "final_eval_patients": 3, "baselines": ["no_therapy", "round_robin"],
              "checkpoint_every": 6, "out_root": str(tmp_path / "runs"), "progress_bar": False,
              "hyperparameters": {"n_steps": 3, "batch_size": 6, "n_epochs": 1}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    proc = _cli("train", "--config", "tiny.yaml", cwd=tmp_path)
    assert "| ppo |" in proc.stdout and "| round_robin |" in proc.stdout
    (run,) = (tmp_path / "runs" / "tiny").iterdir()
    scalars, images = _scalars(run)
    assert {"recovery/final_score", "recovery/gain_over_no_therapy", "recovery/score_dir_7",
            "therapy/dose", "train/value_loss"} <= set(scalars)
    assert max(scalars["recovery/final_score"]) == 12
    assert any("recovery_curves" in t for t in images) and any("schedule" in t for t in images)
    assert read_csv(run / "evaluation" / "evaluation.csv")[0]["therapist"] == "ppo"

    # interrupted at 6 days, resumed: the count goes on to 18 in the same run folder
    config["total_timesteps"] = 18
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    _cli("train", "--resume", str(run / "checkpoints" / "model_6_steps.zip"), cwd=tmp_path)
    assert PPO.load(run / "model.zip").num_timesteps == 18
    assert max(_scalars(run)[0]["recovery/final_score"]) == 18

    _cli("evaluate", "--therapist", f"ppo:{run / 'model.zip'}", "--patients", "3",
         "--baselines", "no_therapy", "worst_first", "--out", "eval", cwd=tmp_path)
    rows = read_csv(tmp_path / "eval" / "evaluation.csv")
    assert [r["therapist"] for r in rows] == [f"ppo:{run / 'model.zip'}", "no_therapy",
                                              "worst_first"]
    assert all(0.0 <= float(r["final_score"]) <= 100.0 for r in rows)


def test_evaluations_in_the_background_log_what_evaluations_in_process_log(
        tmp_path: Path) -> None:
    """The worker's evaluation of a policy copy gives the same numbers, logged at the copy's
    timestep, and the comparison on two worker processes the same table as in this one."""
    config = {"experiment": "bg", "env_config": TINY_ENV, "n_envs": 2, "vec_env": "native",
              "total_timesteps": 12, "eval_every": 6, "eval_patients": 2,
              "final_eval_patients": 2, "baselines": ["no_therapy"], "checkpoint_every": 0,
              "progress_bar": False, "out_root": str(tmp_path),
              "hyperparameters": {"n_steps": 3, "batch_size": 6, "n_epochs": 1}}
    logged = {}
    for background in (False, True):
        run = train(load_train_config({**config, "eval_in_background": background,
                                       "workers": 2 if background else 1}),
                    out=tmp_path / str(background), command=["test"])
        acc = EventAccumulator(str(run))
        acc.Reload()
        logged[background] = {tag: [(e.step, e.value) for e in acc.Scalars(tag)]
                              for tag in acc.Tags()["scalars"] if tag.startswith("recovery/")}
        logged[background]["table"] = read_csv(run / "evaluation" / "evaluation.csv")
    assert [step for step, _ in logged[True]["recovery/final_score"]] == [0, 6, 12]
    assert logged[True] == logged[False]


def test_native_adapter_builds_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        venv = NativeVecEnvAdapter(gym.make_vec("rehabgym/Therapy-v2", num_envs=2,
                                                vectorization_mode="vector_entry_point",
                                                render_mode="rgb_array"))
    assert venv.render_mode == "rgb_array" and venv.num_envs == 2
    venv.close()


KILLED_RUN = """
import sys
sys.path.insert(0, {tests!r})
import fake_env
from rehabgym.training import load_train_config, train
cfg = load_train_config(dict(
    experiment="killed", env_id=fake_env.FAKE_ID, env_config={{"horizon_days": 5}},
    vec_env="dummy", n_envs=2, total_timesteps={total}, eval_every=100, eval_patients=2,
    final_eval_patients=0, checkpoint_every=20, out_root={root!r}, progress_bar=False,
    eval_in_background=False, hyperparameters={{"n_steps": 10, "batch_size": 10, "n_epochs": 1}}))
train(cfg, out={out!r}, resume={resume!r}, command=["killed"])
"""


def test_a_run_killed_with_sigkill_resumes_to_the_same_count_counting_nothing_twice(
        tmp_path: Path) -> None:
    total, out = 600, tmp_path / "run"
    code = KILLED_RUN.format(tests=str(Path(__file__).parent), total=total, root=str(tmp_path),
                             out=str(out), resume=None)
    child = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not (out / "checkpoints" / "model_200_steps.zip").is_file():
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        assert time.time() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not (out / "model.zip").exists()  # it really died mid-run
    ran = subprocess.run([sys.executable, "-c", KILLED_RUN.format(
        tests=str(Path(__file__).parent), total=total, root=str(tmp_path), out=str(out),
        resume=str(out))], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert PPO.load(out / "model.zip").num_timesteps == total
    steps = _scalars(out)[0]["recovery/final_score"]
    assert steps == sorted(set(steps)) and steps[-1] == total  # each evaluation once
    assert set(range(0, total + 1, 100)) <= set(steps)
    curve = read_csv(out / "learning_curve.csv")  # the whole run's, once per evaluation
    assert [int(r["training_days"]) for r in curve if r["therapist"] == "agent"] == steps
    assert not list(out.rglob(".*.zip*"))  # no temporary file left behind


@pytest.mark.parametrize("normalize_reward", [False, True])
def test_a_resumed_run_is_the_uninterrupted_run(tmp_path: Path, normalize_reward: bool) -> None:
    """Resumed from a mid-run checkpoint (patients mid-episode), training ends with the
    uninterrupted run's parameters, bit for bit."""
    config = {"experiment": "exact", "env_config": TINY_ENV, "n_envs": 2, "vec_env": "native",
              "total_timesteps": 16, "eval_every": 0, "eval_patients": 1,
              "final_eval_patients": 0, "checkpoint_every": 6, "progress_bar": False,
              "normalize_reward": normalize_reward, "out_root": str(tmp_path),
              "hyperparameters": {"n_steps": 4, "batch_size": 4, "n_epochs": 2}}
    whole = train(load_train_config(config), out=tmp_path / "whole", command=["whole"])
    checkpoint = whole / "checkpoints" / "model_8_steps.zip"  # day 4 of a 3-day episode
    assert (whole / "checkpoints" / "model_resume_8_steps.pt").is_file()
    resumed = train(load_train_config(config), out=tmp_path / "resumed",
                    resume=checkpoint, command=["resumed"])
    a, b = (PPO.load(run / "model.zip").policy.state_dict() for run in (whole, resumed))
    assert PPO.load(resumed / "model.zip").num_timesteps == 16
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    # a checkpoint without its resume file continues the count but not the numbers
    (whole / "checkpoints" / "model_resume_8_steps.pt").unlink()
    other = train(load_train_config(config), out=tmp_path / "other", resume=checkpoint,
                  command=["other"])
    c = PPO.load(other / "model.zip").policy.state_dict()
    assert not all(np.array_equal(a[k].numpy(), c[k].numpy()) for k in a)
