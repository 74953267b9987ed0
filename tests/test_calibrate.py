"""`rehabgym calibrate`: the search over the patient's parameters against the pooled table
(issue 45): its objective, its outputs, continuing a killed search, and bad configs."""

from __future__ import annotations

import csv
from dataclasses import replace

import pytest

from rehabgym.config import ConfigError, load_config
from rehabgym.phenomena import ValidateConfig
from rehabgym.phenomena import calibrate as cal
from rehabgym.phenomena.calibrate import CalibrateConfig, Dimension, calibrate, objective_of

#: a natural history of 4 patients over 5 days and 3 site pairs: rows 1 and 2 in seconds
TINY = replace(ValidateConfig.quick(), n_patients=4, days=5, site_pairs=3, rows=(1, 2))
RATE = "patient.plasticity.learning_rate"


def tiny(**kw) -> CalibrateConfig:
    return CalibrateConfig(**{"trials": 2, "seeds": (0, 1), "validate": TINY, "workers": 1,
                              "cohort": "as given",
                              "space": (Dimension(RATE, 1e-4, 4e-4, log=True),), **kw})


def trials(out) -> list[dict]:
    with open(out / "trials.csv") as f:
        return list(csv.DictReader(f))


def test_a_search_starts_from_the_patient_and_writes_what_validate_reads(tmp_path):
    patient = replace(TINY.patient, use_threshold=35.0)
    res = calibrate(tiny(validate=replace(TINY, patient=patient)), tmp_path, progress=False)
    rows = trials(tmp_path)
    assert len(rows) == 2 and float(rows[0][RATE]) == pytest.approx(2e-4)  # as it is, first
    assert res["start_objective"] == pytest.approx(float(rows[0]["objective"]), abs=1e-4)
    best = max(rows, key=lambda r: float(r["objective"]))
    assert res["objective"] == pytest.approx(float(best["objective"]), abs=1e-4)
    assert res["objective"] == pytest.approx(objective_of(
        {int(k): v for k, v in res["margins"].items()}, 1.0, 3.0))
    calibrated = load_config(ValidateConfig, tmp_path / "calibrated.yaml")
    assert calibrated.patient.plasticity.learning_rate == pytest.approx(float(best[RATE]), 1e-5)
    assert calibrated.patient.use_threshold == 35.0  # what was not searched comes along
    assert calibrated.n_patients == ValidateConfig().n_patients  # the cohort is validate's
    pooled = tmp_path / "trials" / f"{res['best_trial']:04d}" / "pooled" / "phenomena.md"
    assert pooled.is_file() and (tmp_path / "config.yaml").is_file()
    assert set(res["margins"]) == {"1", "2"}  # the rows asked for, not their experiment's others


def test_the_quick_cohort_keeps_the_patient_and_the_rows():
    base = replace(ValidateConfig(), rows=(6,), patient=replace(ValidateConfig().patient,
                                                               use_threshold=35.0))
    quick = CalibrateConfig(validate=base).measured
    assert quick.n_patients == ValidateConfig.quick().n_patients and quick.rows == (6,)
    assert quick.patient.use_threshold == 35.0
    assert CalibrateConfig(validate=base, cohort="as given").measured == base


def test_objective_clips_each_row():
    assert objective_of({1: 5.0, 2: -10.0, 3: 0.5}, 1.0, 3.0) == pytest.approx(1 - 3 + 0.5)


class Killed(BaseException):
    """Stands in for the process dying in the middle of a trial."""


def test_a_killed_search_continues_and_keeps_its_trials(tmp_path, monkeypatch):
    real = cal._validate_seed

    def dies(cfg, out):
        raise Killed

    monkeypatch.setattr(cal, "_validate_seed", dies)
    with pytest.raises(Killed):  # killed in its very first trial
        calibrate(tiny(trials=1), tmp_path, progress=False)
    monkeypatch.setattr(cal, "_validate_seed", real)
    calibrate(tiny(trials=1), tmp_path, progress=False)
    first = trials(tmp_path)
    assert float(first[0][RATE]) == pytest.approx(2e-4)  # the patient as it is, still first
    monkeypatch.setattr(cal, "_validate_seed", dies)
    with pytest.raises(Killed):
        calibrate(tiny(trials=2), tmp_path, progress=False)
    monkeypatch.setattr(cal, "_validate_seed", real)
    calibrate(tiny(trials=2), tmp_path, progress=False)
    again = trials(tmp_path)
    assert len(again) == 2 and again[0] == first[0]
    with pytest.raises(ConfigError, match="other settings"):
        calibrate(tiny(trials=3, seeds=(0, 2)), tmp_path, progress=False)


def test_a_failing_trial_fails_alone(tmp_path, monkeypatch):
    real, calls = cal._validate_seed, []

    def diverges_once(cfg, out):
        calls.append(out)
        if len(calls) == 1:
            raise FloatingPointError("the arm diverged")
        real(cfg, out)

    monkeypatch.setattr(cal, "_validate_seed", diverges_once)
    calibrate(tiny(trials=2), tmp_path, progress=False)
    assert len(trials(tmp_path)) == 2  # two complete trials beside the failed one


@pytest.mark.parametrize("change, field", [
    ({"seeds": (0, 3)}, "seeds"),
    ({"seeds": ()}, "seeds"),
    ({"space": (Dimension("patient.plasticity.no_such_rate", 0.0, 1.0),)}, "no_such_rate"),
    ({"space": (Dimension("patient.plasticity.output_covariance", 0.0, 1.5),)},
     "output_covariance"),
    ({"space": (Dimension("patient.checkpoint", 0.0, 1.0),)}, "checkpoint"),
])
def test_bad_config_names_the_field(change, field):
    with pytest.raises(ConfigError, match=field):
        tiny(**change)


def test_a_dimension_needs_a_range():
    with pytest.raises(ConfigError, match=RATE):
        Dimension(RATE, 1e-3, 1e-4)
    with pytest.raises(ConfigError, match=RATE):
        Dimension(RATE, 0.0, 1e-4, log=True)


def test_the_command_refuses_a_bad_config_naming_the_field(tmp_path, capsys):
    from rehabgym.cli import main

    (tmp_path / "c.yaml").write_text("seeds: [4]\n")
    assert main(["calibrate", "--config", str(tmp_path / "c.yaml"),
                 "--out", str(tmp_path / "out")]) == 2
    assert "seeds" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_shipped_calibration_config_loads():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "configs" / "calibrate"
    cfg = load_config(CalibrateConfig, root / "rate_cost_cortex.yaml")
    assert cfg.measured.patient.checkpoint == "healthy_cortex_rate_cost.pt"  # shipped
    assert cfg.measured.n_patients == ValidateConfig.quick().n_patients
    assert "patient.plasticity.output_covariance" in {d.path for d in cfg.space}
