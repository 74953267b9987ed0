"""`rehabgym tune`: a study on training patients, resumable; its tuned file loads into a spec."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from gymnasium import spaces

import rehabgym  # noqa: F401  (registers the environments)
from rehabgym.config import ConfigError, load_config
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.therapists import make_therapist, parse_spec
from rehabgym.therapists.registry import resolve_spec
from rehabgym.tuning import TuneConfig, tune

ROOT = Path(__file__).resolve().parents[1]
TINY = {"horizon_days": 2, "start_day": 2, "repetition_levels": [2, 4], "cohort": "mixed"}


def _cfg(**over: object) -> TuneConfig:
    data = {"budget_days": 8, "patients": 2, "workers": 1, "env": TINY}
    data.update(over)
    return load_config(TuneConfig, data)


def test_a_study_tunes_within_its_budget_and_continues_where_it_stopped(tmp_path: Path) -> None:
    first = tune(_cfg(), tmp_path, progress=False)
    assert first["trials"] == 2 and first["budget_days"] == 8
    rows = (tmp_path / "trials.csv").read_text().splitlines()
    # the untuned heuristic is the first trial, and the best is at least as good
    assert rows[1].split(",", 1)[1].rsplit(",", 1)[0] == '"adaptive(target=0.7, band=0.1, reps=1)"'
    assert first["mean_return"] >= first["untuned_mean_return"]
    again = tune(_cfg(budget_days=16), tmp_path, progress=False)
    assert again["trials"] == 4
    lines = (tmp_path / "trials.csv").read_text().splitlines()
    assert lines[:3] == rows
    # the continued study draws new parameters, not the ones it drew before
    specs = [line.split(",", 1)[1].rsplit(",", 1)[0] for line in lines[1:]]
    assert len(set(specs)) == 4
    saved = yaml.safe_load((tmp_path / "tuned.yaml").read_text())
    assert saved["therapist"] == "adaptive" and saved["params"] == again["params"]


def test_a_study_killed_in_its_first_trial_still_measures_the_untuned_heuristic(
        tmp_path: Path) -> None:
    import optuna

    study = optuna.create_study(study_name="tune-adaptive", direction="maximize",
                                storage=f"sqlite:///{tmp_path / 'study.db'}")
    study.enqueue_trial({"distance": "ladder", "target": 0.7, "band": 0.1, "reps": 1})
    study.ask()  # the process died here: the trial stays RUNNING
    result = tune(_cfg(), tmp_path, progress=False)
    assert result["trials"] == 2 and result["untuned_mean_return"] is not None


def test_a_study_continued_with_other_settings_is_refused(tmp_path: Path) -> None:
    tune(_cfg(), tmp_path, progress=False)
    before = (tmp_path / "config.yaml").read_text()
    with pytest.raises(ConfigError, match="other settings"):
        tune(_cfg(patients=1, budget_days=8), tmp_path, progress=False)
    assert (tmp_path / "config.yaml").read_text() == before


def test_the_tuned_parameters_load_into_a_spec_and_are_used(tmp_path: Path) -> None:
    path = tmp_path / "tuned.yaml"
    path.write_text(yaml.safe_dump({"therapist": "adaptive",
                                    "params": {"target": 0.55, "band": 0.2, "reps": 0}}))
    name, kwargs = parse_spec(f"adaptive(params='{path}', band=0.05)")
    assert name == "adaptive" and kwargs == {"target": 0.55, "band": 0.05, "reps": 0}
    space = spaces.MultiDiscrete([9, 3, 4, 4])
    tuned = make_therapist(f"adaptive(params='{path}')", space, 0)
    assert (tuned.target, tuned.band) == (0.55, 0.2)
    obs = np.full(13, 0.5, dtype=np.float32)
    assert tuned.act(obs, {})[3] == 0  # the tuned repetition level, not the middle one
    assert make_therapist("adaptive", space, 0).act(obs, {})[3] == 2
    # what travels to workers is the values, not the path
    resolved = resolve_spec(f"adaptive(params='{path}')")
    assert "params" not in resolved
    assert parse_spec(resolved) == ("adaptive", {"target": 0.55, "band": 0.2, "reps": 0})


def test_a_tuned_file_of_another_therapist_is_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "tuned.yaml"
    path.write_text(yaml.safe_dump({"therapist": "challenge_point", "params": {"target": 0.5}}))
    with pytest.raises(ConfigError, match="'challenge_point', not of 'adaptive'"):
        parse_spec(f"adaptive(params='{path}')")
    path.write_text("therapist: adaptive\n")
    with pytest.raises(ConfigError, match="not a tuned-parameter file"):
        parse_spec(f"adaptive(params='{path}')")


@pytest.mark.parametrize(("over", "named"), [
    ({"therapist": "worst_first"}, "therapist.*allowed.*adaptive"),
    ({"budget_days": 0}, "budget_days"),
    ({"budget_days": 3}, "budget_days.*one trial"),
    ({"seed": 999_999}, "seed.*held-out"),
    ({"env": {"cohort": "nope"}}, "cohort"),
])
def test_bad_tuning_settings_fail_naming_the_field(over: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _cfg(**over)


@pytest.mark.parametrize("args", [["--therapist", "oracle"], ["--budget-days", "0"]])
def test_the_command_refuses_bad_input_and_writes_nothing(tmp_path: Path, args: list) -> None:
    out = tmp_path / "study"
    done = subprocess.run([sys.executable, "-m", "rehabgym", "tune", *args, "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "bad config" in done.stderr
    assert not out.exists()


def test_the_default_study_is_the_long_configs_environment_and_budget() -> None:
    cfg = TuneConfig()
    long = yaml.safe_load((ROOT / "configs/ppo_therapy_long.yaml").read_text())
    assert cfg.budget_days == long["total_timesteps"]
    assert cfg.env == TherapyEnvConfig(all_directions=True, cost_per_rep=0.0005)
