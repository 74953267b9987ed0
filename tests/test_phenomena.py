"""The phenomena table: `rehabgym validate --quick` produces it, complete and saved; row 10's
schedule comparison; the experiments' common random numbers."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rehabgym.config import ConfigError, load_config
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.patient import PatientConfig, sample_cohort
from rehabgym.phenomena import ValidateConfig, validate
from rehabgym.phenomena import natural_history as nh
from rehabgym.phenomena import therapy as th
from rehabgym.phenomena.natural_history import natural_history
from rehabgym.phenomena.therapist import SCHEDULES, schedule_comparison
from rehabgym.phenomena.therapy import therapy_experiment
from rehabgym.stats import paired_test


def test_unknown_ablation_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="ablate"):
        validate(ValidateConfig.quick(), tmp_path, ablate="dopamine", progress=False)


def test_quick_validate_writes_the_whole_table(tmp_path):
    rows = validate(ValidateConfig.quick(), tmp_path, progress=False)
    assert [r.number for r in rows] == list(range(1, 13))
    for r in rows:
        assert r.measured and r.expected and isinstance(r.passed, bool)
    saved = json.loads((tmp_path / "phenomena.json").read_text())
    assert [r["row"] for r in saved] == list(range(1, 13))
    table = (tmp_path / "phenomena.md").read_text()
    assert table.count("\n| ") == 12
    assert (tmp_path / "phenomena.png").stat().st_size > 10_000
    for n in range(1, 10):  # one figure per row, and all of them in TensorBoard
        (fig,) = tmp_path.glob(f"row{n}_*.png")
        assert fig.stat().st_size > 10_000
    assert list(tmp_path.glob("events.out.tfevents.*"))
    assert (tmp_path / "config.yaml").is_file()
    # Lesions must cost function: the first row's size-deficit correlation is measured.
    assert math.isfinite(rows[0].values["rho_radius"])
    row3 = saved[2]["values"]["patients"]  # per patient, to redo the fit from the json
    assert len(row3["impairment"]) == len(row3["recovery"]) == 12
    assert sum(row3["fit"]) == rows[2].values["n"]
    # Row 7 follows the whole cohort after the therapy of its own design (quick: days 3-7).
    assert "days 3–7" in rows[6].measured
    assert rows[6].values["n_above"] + rows[6].values["n_below"] == 12


@pytest.mark.parametrize("field, value", [("followup_days", 0), ("threshold_start", -1),
                                          ("therapy_days", 0), ("n_patients", 0),
                                          ("site_radius", [0.3, 0.45]),
                                          ("site_radius", [0.0, 0.2])])
def test_impossible_experiment_names_the_field(tmp_path, field, value):
    with pytest.raises(ValueError, match=field):
        replace(ValidateConfig(), **{field: value})
    (tmp_path / "v.yaml").write_text(f"{field}: {value}\n")
    with pytest.raises(ConfigError, match=field):
        load_config(ValidateConfig, tmp_path / "v.yaml")


def test_site_pairs_differ_only_in_the_area_they_kill():
    """Row 1's site pairs: the first of each pair kills premotor neurons only, its twin M1
    neurons only, with the same radius, height and penumbra and nothing else damaged."""
    from rehabgym.cortex.lesion import lesion_masks
    from rehabgym.cortex.sheet import PM, Sheet
    from rehabgym.phenomena.natural_history import site_lesions

    cfg = ValidateConfig()
    lesions, sheet = site_lesions(cfg), Sheet.generate()
    assert len(lesions) == 2 * cfg.site_pairs and lesions == site_lesions(cfg)
    for pm, m1 in zip(lesions[:cfg.site_pairs], lesions[cfg.site_pairs:]):
        assert pm.focal_radius == m1.focal_radius and pm.focal_center[1] == m1.focal_center[1]
        assert pm.diffuse_fraction == m1.diffuse_fraction == pm.corticospinal_fraction == 0
        for lesion, area in ((pm, True), (m1, False)):
            masks = lesion_masks(lesion, sheet)
            touched = ~masks.alive | (masks.weakening < 1)
            assert touched.any() and ((sheet.area[touched] == PM) == area).all()


def test_therapy_arms_share_each_patients_noise():
    """Common random numbers: the control arm is the natural history of the same patients, and
    an arm equals the control until its therapy starts (then it differs)."""
    cfg = replace(ValidateConfig.quick(), n_patients=3, days=4, early_start=1, late_start=3,
                  therapy_days=1)
    lesions = sample_cohort(cfg.cohort, 3, cfg.seed)
    nat = natural_history(cfg, lesions, lambda it, desc: it)
    ther = therapy_experiment(cfg, lesions[1:], lambda it, desc: it, seeds=[cfg.seed + 1,
                                                                             cfg.seed + 2])
    arm = {name: ther.arm(name) for name in ther.arms}
    np.testing.assert_allclose(arm["control"], nat.score[: len(arm["control"]), 1:],
                               atol=0.01)  # batch size changes float rounding only
    np.testing.assert_allclose(arm["late"][: cfg.late_start + 1],
                               arm["control"][: cfg.late_start + 1], atol=1e-6)
    assert np.abs(arm["late"][-1] - arm["control"][-1]).max() > 0.05


FAST = {"horizon_days": 2, "start_day": 1, "repetition_levels": (2, 4), "cohort": "mild"}


def test_paired_test_detects_a_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    assert paired_test(a + 1.0, a + rng.normal(scale=0.1, size=40), seed=0)["p"] < 0.01
    assert paired_test(a, a + rng.normal(scale=0.1, size=40), seed=0)["p"] > 0.01


def test_schedule_comparison_smoke():
    env = TherapyEnvConfig(**{**FAST, "patient": PatientConfig(assessment_repeats=1,
                                                                daily_life_reps=4)})
    out = schedule_comparison(env, n_patients=2, seed=3)
    assert [r["schedule"] for r in out["rows"]] == list(SCHEDULES)
    assert out["initial"].shape == (2,) and "row 10" in out["table"]


@pytest.mark.slow
def test_row10_the_therapist_matters():
    """Phenomenon 10: the best and worst scripted schedules differ clearly on one cohort."""
    out = schedule_comparison(TherapyEnvConfig(cohort="mixed", horizon_days=10), n_patients=16)
    assert out["best_vs_worst"]["p"] < 0.05
    assert out["best_vs_worst"]["ci_low"] > 0


TINY = dict(n_patients=4, days=5, therapy_patients=2, early_start=1,
            late_start=3, therapy_days=1, doses=(30, 120), row10_patients=2, row10_days=2,
            threshold_start=1, followup_days=2)


class Killed(BaseException):
    """Stands in for the process dying in the middle of an experiment."""


def test_a_killed_validate_continues_after_its_finished_experiments(tmp_path, monkeypatch,
                                                                    capsys):
    cfg = replace(ValidateConfig.quick(), **TINY)
    validate(cfg, tmp_path / "whole", progress=False)

    def dies(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(th, "therapy_experiment", dies)
        with pytest.raises(Killed):
            validate(cfg, tmp_path / "killed", progress=False)
    assert {p.name for p in (tmp_path / "killed" / "stages").glob("*.npz")} == {
        "natural_history.npz"}
    monkeypatch.setattr(nh, "natural_history", dies)  # must not run again
    validate(cfg, tmp_path / "killed", progress=False)
    assert "natural_history finished in an earlier run" in capsys.readouterr().err
    assert ((tmp_path / "killed" / "phenomena.json").read_text()
            == (tmp_path / "whole" / "phenomena.json").read_text())


def test_validate_on_two_processes_is_the_one_process_table(tmp_path):
    """The experiments on worker processes (one thread each) give the table to the digit,
    and a run that had finished the natural history continues from it."""
    cfg = replace(ValidateConfig.quick(), **TINY)
    validate(cfg, tmp_path / "one", progress=False)
    validate(cfg, tmp_path / "two", progress=False, workers=2)
    assert ((tmp_path / "two" / "phenomena.json").read_text()
            == (tmp_path / "one" / "phenomena.json").read_text())
    (tmp_path / "part" / "stages").mkdir(parents=True)
    validate(cfg, tmp_path / "part", progress=False)
    for stage in ("therapy", "threshold", "therapist", "challenge"):
        (tmp_path / "part" / "stages" / f"{stage}.npz").unlink()
    validate(cfg, tmp_path / "part", progress=False, workers=2)
    assert ((tmp_path / "part" / "phenomena.json").read_text()
            == (tmp_path / "one" / "phenomena.json").read_text())


def test_a_folder_of_another_config_starts_again_saying_so(tmp_path, capsys):
    cfg = replace(ValidateConfig.quick(), **TINY)
    validate(cfg, tmp_path, progress=False, ablate="window")
    validate(cfg, tmp_path, progress=False, ablate="homeostasis")
    assert "holds stages of another config; starting again" in capsys.readouterr().err


@pytest.mark.slow
def test_the_default_validate_passes_the_rows_the_results_page_reports(tmp_path):
    """`rehabgym validate --seed 0` at the defaults: each row passes or fails as the committed
    docs/results/phenomena/v2/seed0.json (the results page's table) says."""
    saved = json.loads((Path(__file__).parents[1] / "docs" / "results" / "phenomena" / "v2"
                        / "seed0.json").read_text())
    rows = validate(ValidateConfig(), tmp_path, progress=False)
    assert {r.number: r.passed for r in rows} == {r["row"]: r["passed"] for r in saved}
