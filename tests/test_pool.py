"""`rehabgym pool`: the table on several validate runs' patients together, from their stages
alone; runs that differ in more than the seed, or have not finished, are refused clearly."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from rehabgym.cli import main
from rehabgym.config import ConfigError, save_config
from rehabgym.phenomena import ValidateConfig, validate
from rehabgym.phenomena import therapy as th
from rehabgym.phenomena.pool import load_run, pool
from rehabgym.phenomena.validate import stage_key
from rehabgym.stages import fingerprint

TINY = dict(n_patients=4, days=5, therapy_patients=2, early_start=1, late_start=3,
            therapy_days=1, doses=(30, 120), row10_patients=2, row10_days=2,
            threshold_start=1, followup_days=2, challenge_patients=2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two finished tiny validate runs, seeds 0 and 1, and their rows."""
    root = tmp_path_factory.mktemp("validate")
    cfg = replace(ValidateConfig.quick(), **TINY)
    out = {}
    for seed in (0, 1):
        rows = validate(replace(cfg, seed=seed), root / f"seed{seed}", progress=False)
        out[seed] = (root / f"seed{seed}", rows)
    return out


def _stamps(folder):
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size)
            for p in (folder / "stages").iterdir()}


def test_one_run_pooled_is_that_run(runs, tmp_path):
    folder, rows = runs[0]
    pooled = pool([folder], tmp_path / "pooled")
    assert [(r.number, r.measured, r.passed) for r in pooled] == [
        (r.number, r.measured, r.passed) for r in rows]


def test_pooling_joins_the_patients_and_changes_no_run(runs, tmp_path, capsys):
    (a, rows_a), (b, _) = runs[0], runs[1]
    before = (_stamps(a), _stamps(b))
    pooled = pool([a, b], tmp_path / "pooled")
    assert (_stamps(a), _stamps(b)) == before
    by = {r.number: r for r in pooled}
    assert by[1].values["n"] == 2 * {r.number: r for r in rows_a}[1].values["n"]
    cfg_a, data_a = load_run(a)
    _, data_b = load_run(b)
    # the therapy rows are computed on both runs' therapy patients, side by side
    both = th.TherapyResult(data_a.ther.arms, np.concatenate(
        [data_a.ther.score, data_b.ther.score], 2), np.concatenate(
        [data_a.ther.profile, data_b.ther.profile], 2))
    assert by[4].measured == th.early_beats_late(cfg_a, both).measured
    assert f"n={2 * TINY['therapy_patients']})" in by[4].measured
    assert "seeds 0, 1 pooled" in capsys.readouterr().out
    saved = json.loads((tmp_path / "pooled" / "phenomena.json").read_text())
    assert [r["row"] for r in saved] == [r.number for r in pooled]
    assert json.loads((tmp_path / "pooled" / "runs.json").read_text())["seeds"] == [0, 1]
    assert (tmp_path / "pooled" / "row6_specificity.png").is_file()


def _copy_run(src, dst, cfg=None):
    """A copy of run `src` in `dst`; with `cfg`, as if its stages had been made with `cfg`."""
    shutil.copytree(src, dst)
    if cfg is not None:
        save_config(cfg, dst / "config.yaml")
        (dst / "stages" / "config.sha256").write_text(
            fingerprint(stage_key(cfg, None)) + "\n")
    return dst


def test_runs_of_other_settings_are_refused_naming_the_field(runs, tmp_path):
    cfg, _ = load_run(runs[1][0])
    other = _copy_run(runs[1][0], tmp_path / "other", replace(cfg, reps=cfg.reps + 1))
    with pytest.raises(ConfigError, match=r"differs .* in reps"):
        pool([runs[0][0], other], tmp_path / "pooled")
    assert not (tmp_path / "pooled").exists()


def test_stages_of_another_config_than_the_folders_are_refused(runs, tmp_path):
    cfg, _ = load_run(runs[1][0])
    other = _copy_run(runs[1][0], tmp_path / "other")
    save_config(replace(cfg, reps=cfg.reps + 1), other / "config.yaml")
    with pytest.raises(ConfigError, match="not made with its config.yaml"):
        pool([other], tmp_path / "pooled")


def test_the_pooled_table_never_goes_into_a_run(runs):
    before = (runs[0][0] / "phenomena.json").read_text()
    with pytest.raises(ConfigError, match="out: .* is one of the runs"):
        pool([runs[0][0], runs[1][0]], runs[0][0])
    assert (runs[0][0] / "phenomena.json").read_text() == before


def test_the_same_seed_twice_is_refused(runs, tmp_path):
    with pytest.raises(ConfigError, match="same seed twice"):
        pool([runs[0][0], runs[0][0]], tmp_path / "pooled")


def test_a_killed_run_is_refused(runs, tmp_path):
    folder = tmp_path / "killed"
    shutil.copytree(runs[0][0] / "stages", folder / "stages")  # config.yaml comes at the end
    with pytest.raises(ConfigError, match="not a finished validate run"):
        pool([folder], tmp_path / "pooled")


def test_a_run_missing_a_stage_is_refused_naming_it(runs, tmp_path, capsys):
    folder = tmp_path / "unfinished"
    (folder / "stages").mkdir(parents=True)
    cfg, _ = load_run(runs[0][0])
    save_config(cfg, folder / "config.yaml")
    for name in ("natural_history.npz", "config.sha256"):
        shutil.copy(runs[0][0] / "stages" / name, folder / "stages" / name)
    assert main(["pool", str(folder), "--out", str(tmp_path / "pooled")]) == 2
    assert "no finished 'therapy' stage" in capsys.readouterr().err
    assert not (tmp_path / "pooled").exists()


def test_chosen_rows_run_their_experiments_only_and_pool_as_the_full_runs(runs, tmp_path):
    """`rows` measures those rows from their experiments alone: the same rows as a full run's,
    pooled as the full runs' rows; a full run in the same folder goes on from the stage."""
    cfg = replace(ValidateConfig.quick(), **TINY, rows=(11, 12))
    for seed in (0, 1):
        rows = validate(replace(cfg, seed=seed), tmp_path / f"seed{seed}", progress=False)
        full = {r.number: r for r in runs[seed][1]}
        assert [(r.number, r.measured) for r in rows] == [
            (n, full[n].measured) for n in (11, 12)]
        assert sorted(p.name for p in (tmp_path / f"seed{seed}" / "stages").glob("*.npz")) == [
            "challenge.npz"]
    pooled = pool([tmp_path / "seed0", tmp_path / "seed1"], tmp_path / "pooled")
    every = {r.number: r for r in pool([runs[0][0], runs[1][0]], tmp_path / "every")}
    assert [(r.number, r.measured) for r in pooled] == [(n, every[n].measured) for n in (11, 12)]
    before = _stamps(tmp_path / "seed0")
    validate(replace(cfg, seed=0, rows=None), tmp_path / "seed0", progress=False)
    assert _stamps(tmp_path / "seed0")["challenge.npz"] == before["challenge.npz"]
