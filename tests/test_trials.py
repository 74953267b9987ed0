"""Virtual trials: randomisation, screening, the same patients on every backend and number of
workers, a killed trial that continues, a dead Ray worker retried, a failing patient named,
and the report's numbers against its own patients.csv."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import ray
import yaml
from stable_baselines3 import PPO
from tolerance import TIGHT

import rehabgym  # noqa: F401  (registers the environments)
from rehabgym.config import ConfigError, load_config
from rehabgym.evaluation import engine as engine_module
from rehabgym.evaluation.engine import ChunkTask
from rehabgym.trials import ChunkError, Randomisation, TrialConfig, run_chunks, run_trial
from rehabgym.trials.randomise import randomise, strata_of
from rehabgym.trials.report import write_report
from rehabgym.trials.screening import screen_chunk, trial_env_kwargs

SMALL = {
    "name": "small",
    "arms": [{"name": "no_therapy", "therapist": "no_therapy"},
             {"name": "fixed", "therapist": "round_robin(distance=0, assistance=1, reps=0)"},
             {"name": "adaptive", "therapist": "adaptive"}],
    "patients_per_arm": 2,
    "chunk_patients": 2,
    "env": {"horizon_days": 2, "start_day": 1},
}


@pytest.fixture(scope="module")
def with_model(tmp_path_factory):
    """SMALL with a fourth arm: an (untrained) PPO model, whose file travels in the tasks."""
    folder = tmp_path_factory.mktemp("model")
    env = gym.make("rehabgym/Therapy-v2", horizon_days=2)
    PPO("MlpPolicy", env, seed=0, n_steps=8, batch_size=8).save(folder / "model.zip")
    env.close()
    arm = {"name": "ppo", "therapist": f"ppo:{folder / 'model.zip'}"}
    return {**SMALL, "arms": [*SMALL["arms"], arm]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, with_model):
    """The small trial with a model arm in this process (one worker), with its report."""
    out = tmp_path_factory.mktemp("reference")
    cfg = load_config(TrialConfig, with_model)
    result = run_trial(cfg, out, workers=1, progress=False)
    write_report(result, out)
    return out, result


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path / "patients.csv", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- randomisation
def test_randomisation_balances_every_stratum_and_depends_only_on_earlier_patients():
    rand = Randomisation(seed=3, strata=(40.0, 70.0), block_arms=2)
    rng = np.random.default_rng(0)
    acute = rng.uniform(0, 100, 301)
    strata = strata_of(acute, rand)
    assert set(strata) == {0, 1, 2} and np.array_equal(strata, np.digitize(acute, [40, 70]))
    arms = randomise(strata, 3, rand)
    for s in range(3):
        counts = np.bincount(arms[strata == s], minlength=3)
        assert counts.max() - counts.min() <= 2  # at most one unfilled block of 6 places
    # enrolment goes on: the earlier patients keep their arms
    more = randomise(np.concatenate([strata, [0, 2, 1]]), 3, rand)
    assert np.array_equal(more[:301], arms)
    assert np.array_equal(randomise(strata, 3, rand), arms)
    assert not np.array_equal(randomise(strata, 3, Randomisation(seed=4)), arms)
    unstratified = Randomisation(stratify=False)
    assert (strata_of(acute, unstratified) == 0).all()


def test_bad_trial_configs_name_the_field():
    for change, field in [
        ({"arms": [{"name": "a", "therapist": "no_therapy"}]}, "arms"),
        ({"control": "nobody"}, "control"),
        ({"arms": [{"name": "a", "therapist": "no_therapy"},
                   {"name": "a", "therapist": "random"}]}, "arms"),
        ({"arms": [{"name": "no_therapy", "therapist": "no_therapy"},
                   {"name": "b", "therapist": "not_a_therapist"}]}, "arms[1].therapist"),
        ({"arms": [{"name": "no_therapy", "therapist": "no_therapy"},
                   {"name": "m", "therapist": "ppo:/nowhere/model.zip"}]}, "arms[1].therapist"),
        ({"randomisation": {"strata": [70, 40]}}, "strata"),
        ({"primary": "happiness"}, "primary"),
        ({"chunk_patients": 0}, "chunk_patients"),
    ]:
        with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
            load_config(TrialConfig, {**SMALL, **change})


def test_screening_gives_the_acute_score_the_environment_admits():
    cfg = load_config(TrialConfig, SMALL)
    kwargs = trial_env_kwargs(cfg.env)
    kwargs["config"]["start_day"] = 0
    seeds = (7, 123456)
    acute = screen_chunk(ChunkTask(0, seeds, env_kwargs=kwargs))["acute"]
    for seed, score in zip(seeds, acute):
        env = gym.make("rehabgym/Therapy-v2", **kwargs)
        _, info = env.reset(seed=seed)
        assert info["score"] == pytest.approx(score, rel=TIGHT)
        env.close()


# ---------------------------------------------------------------- backends
@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_local_and_ray_give_the_same_patients_bit_for_bit(reference, tmp_path, ray_cluster,
                                                          with_model):
    out, result = reference
    cfg = load_config(TrialConfig, with_model)
    expected = (out / "patients.csv").read_bytes()
    for backend, workers in (("local", 2), ("ray", 2)):
        folder = tmp_path / f"{backend}{workers}"
        write_report(run_trial(cfg, folder, backend=backend, workers=workers, progress=False),
                     folder)
        assert (folder / "patients.csv").read_bytes() == expected, (backend, workers)
    rows = _rows(out)
    assert len(rows) == cfg.n_patients and len({r["seed"] for r in rows}) == cfg.n_patients
    # therapy happened: the fixed schedule practised every day, no therapy never
    dose = {r["arm"]: float(r["dose"]) for r in rows}
    assert dose["no_therapy"] == 0 and dose["fixed"] == 2 * 15
    assert {r["arm"] for r in rows} == {"no_therapy", "fixed", "adaptive", "ppo"}


def test_ray_retries_a_chunk_whose_worker_died(tmp_path, ray_cluster):
    marker = tmp_path / "died-once"

    def dies_once(task: ChunkTask) -> dict[str, np.ndarray]:
        if task.index == 1 and not marker.exists():
            marker.write_text("x")
            os._exit(1)  # the worker process dies, as a killed or out-of-memory one does
        return {"index": np.array([task.index])}

    tasks = [ChunkTask(k, (k,)) for k in range(3)]
    done = {task.index: r["index"][0] for task, r in run_chunks(dies_once, tasks, "ray", 2)}
    assert marker.exists() and done == {0: 0, 1: 1, 2: 2}


def test_a_failing_patient_is_named_with_its_chunk(monkeypatch, tmp_path):
    real = engine_module.run_batch

    def fails_for_one(therapists, seeds, *args, **kwargs):
        if 2_000_003 in seeds:
            raise FloatingPointError("the arm diverged")
        return real(therapists, seeds, *args, **kwargs)

    monkeypatch.setattr(engine_module, "run_batch", fails_for_one)
    cfg = load_config(TrialConfig, SMALL)
    with pytest.raises(ChunkError, match=r"chunk 1 .*patient seed 2000003 .*diverged"):
        run_trial(cfg, tmp_path, workers=1, progress=False)


# ---------------------------------------------------------------- faults
def test_a_trial_killed_mid_run_continues_to_the_same_results(reference, tmp_path, with_model):
    out, _ = reference
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(with_model))
    folder = tmp_path / "killed"
    cmd = [sys.executable, "-m", "rehabgym", "trial", "--config", str(config), "--workers", "1",
           "--out", str(folder)]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (folder / "stages" / "treat_00000.npz").exists():
        assert first.poll() is None and time.time() < deadline, "no chunk finished"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (folder / "patients.csv").exists()  # it really died before the end
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "finished in an earlier run" in again.stderr
    assert (folder / "patients.csv").read_bytes() == (out / "patients.csv").read_bytes()


# ---------------------------------------------------------------- the report
def test_the_report_agrees_with_its_patients(reference):
    out, result = reference
    import json

    report = json.loads((out / "results.json").read_text())
    rows = _rows(out)
    for arm, summary in report["arms"].items():
        finals = [float(r["final_score"]) for r in rows if r["arm"] == arm]
        assert summary["patients"] == len(finals)
        assert summary["final_score"]["value"] == pytest.approx(np.mean(finals))
        responders = sum(r["responder"] == "True" for r in rows if r["arm"] == arm)
        assert summary["responders"]["count"] == responders
    assert set(report["comparisons"]["final_score"]) == {"fixed", "adaptive", "ppo"}
    for name in ("recovery_curves", "forest", "gain_by_baseline"):
        assert (out / f"{name}.png").stat().st_size > 0
    md = (out / "trial.md").read_text()
    assert f"| fixed | {report['arms']['fixed']['patients']} |" in md and "(control)" in md


def test_a_trial_too_small_to_compare_still_reports_without_warnings(tmp_path):
    cfg = load_config(TrialConfig, {**SMALL, "patients_per_arm": 1,
                                    "env": {"horizon_days": 1, "start_day": 1}})
    result = run_trial(cfg, tmp_path, workers=1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = write_report(result, tmp_path)
    assert report["sample_size"]["patients_per_arm"] is None  # 3 patients, 4 parameters
    assert all(np.isnan(e["value"]) for e in report["comparisons"]["final_score"].values())
    assert "(control)" in (tmp_path / "trial.md").read_text()
