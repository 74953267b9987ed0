"""`rehabgym schedules`: the fixed schedules of the action space, screened then compared on
held-out patients, and the adaptive therapist against the best of them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tolerance import TIGHT

from rehabgym.cli import main
from rehabgym.config import ConfigError
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.evaluation import schedules as sch
from rehabgym.evaluation.cohort import run_batch
from rehabgym.therapists import heuristic_factory

TINY_ENV = {"horizon_days": 3, "start_day": 1, "distances": [0.1],
            "assistance_levels": [0.0, 1.0], "repetition_levels": [4, 8],
            "patient": {"assessment_repeats": 1, "daily_life_reps": 4}}


def test_the_default_search_covers_every_rule_and_level() -> None:
    cfg = sch.SchedulesConfig()
    specs = sch.fixed_schedules(cfg)
    assert len(specs) == 3 * 3 * 4 * 4 == len(set(specs))
    assert sch.describe("worst_first(distance=1, assistance=2, reps=3)", cfg.env) == \
        "worst_first 10 cm, assistance 0.5, 120 reps"
    for spec in specs:
        heuristic_factory(spec)  # every spec names a heuristic with valid arguments


@pytest.mark.parametrize("bad, field", [({"cohorts": ("bogus",)}, "cohort"),
                                        ({"rules": ("best_ever",)}, "therapist"),
                                        ({"screen_days": 0}, "screen_days"),
                                        ({"patients": 0}, "patients"),
                                        ({"env": TherapyEnvConfig()}, "all_directions")])
def test_bad_settings_are_refused_naming_the_field(bad: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        sch.SchedulesConfig(**bad)


def test_a_patient_scores_the_same_whoever_shares_its_batch() -> None:
    kwargs = {"config": TINY_ENV, "max_episode_steps": 3}
    a, b = heuristic_factory("worst_first(assistance=1)"), heuristic_factory("no_therapy")
    alone = run_batch([a], [11], sch.ENV_ID, kwargs)[0]
    mixed = run_batch([b, a, b], [5, 11, 12], sch.ENV_ID, kwargs)[1]
    np.testing.assert_allclose(alone["scores"], mixed["scores"], rtol=TIGHT, atol=TIGHT)
    # a reward is a difference of scores (0-100): their tolerance, in points
    np.testing.assert_allclose(alone["rewards"], mixed["rewards"], rtol=0, atol=100 * TIGHT)


def test_the_command_prints_its_lines_and_writes_its_results(tmp_path: Path, capsys) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps({"screen_patients": 1, "screen_days": 2, "finalists": 2,
                                  "patients": 2, "rules": ["worst_first", "all_directions"],
                                  "env": {**TINY_ENV, "all_directions": True}}))
    out = tmp_path / "run"
    assert main(["schedules", "--config", str(config), "--cohort", "mild", "mixed",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "best fixed mild: " in text and "best fixed mixed: " in text
    assert "adaptive - best fixed (mixed): " in text and "p = " in text
    result = json.loads((out / "schedules.json").read_text())
    assert set(result["cohorts"]) == {"mild", "mixed"} and result["schedules"] == 2 * 2 * 2
    mixed = result["cohorts"]["mixed"]
    assert len(mixed["finalists"]) == 2 and mixed["best"] in mixed["finalists"]
    assert mixed["adaptive_minus_best"] == pytest.approx(
        mixed["adaptive_return"] - mixed["finalists"][mixed["best"]])
    assert (out / "config.yaml").is_file() and (out / "schedules.md").is_file()
    assert main(["schedules", "--config", str(config), "--cohort", "mild", "mixed",
                 "--out", str(out)]) == 0  # again: every stage read back, the same lines
    assert capsys.readouterr().out.splitlines()[:3] == text.splitlines()[:3]


def test_env_default_is_the_all_directions_action_space() -> None:
    assert sch.SchedulesConfig().env == TherapyEnvConfig(all_directions=True)
