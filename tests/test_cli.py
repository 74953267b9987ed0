"""The `rehabgym` command, run as a user would: subprocesses writing to tmp_path."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import yaml

from rehabgym.config import load_config
from rehabgym.healthy.checkpoint import checkpoint_digest
from rehabgym.healthy.pretrain import PretrainConfig
from rehabgym.phenomena import ValidateConfig

ROOT_CONFIGS = Path(__file__).resolve().parents[1] / "configs"

def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rehabgym", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _read(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_demo_writes_outputs(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = _run("demo", "--out", str(out), "--seed", "1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    for name in ("metrics.csv", "center_out.png", "config.yaml", "command.txt"):
        assert (out / name).is_file(), name
    rows = _read(out / "metrics.csv")
    assert len(rows) == 8
    assert {r["direction_deg"] for r in rows} == {str(d) for d in range(0, 360, 45)}
    # the controller really reaches: every endpoint within 2 cm of its target
    assert all(float(r["endpoint_error"]) < 0.02 for r in rows)
    assert yaml.safe_load((out / "config.yaml").read_text())["seed"] == 1
    assert (out / "arm_frame.png").is_file() or "skipped arm_frame.png" in res.stdout


def test_demo_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    csvs = []
    for name in ("a", "b", "c"):
        seed = "2" if name != "c" else "3"
        out = tmp_path / name
        res = _run("demo", "--out", str(out), "--seed", seed, "--no-render", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        csvs.append((out / "metrics.csv").read_text())
    assert csvs[0] == csvs[1]
    assert csvs[0] != csvs[2]


def test_demo_default_out_dir(tmp_path: Path) -> None:
    res = _run("demo", "--no-render", "--batch", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    runs = list((tmp_path / "runs" / "demo").iterdir())
    assert len(runs) == 1 and (runs[0] / "config.yaml").is_file()


def test_bench_arm_runs(tmp_path: Path) -> None:
    res = _run("bench", "arm", "--batch-sizes", "1", "4", "--seconds", "0.2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "closed/raw" in res.stdout
    assert len([ln for ln in res.stdout.splitlines() if ln.split()[:1] in (["1"], ["4"])]) == 2


def test_unknown_subcommand_fails(tmp_path: Path) -> None:
    res = _run("nope", cwd=tmp_path)
    assert res.returncode != 0 and "invalid choice" in res.stderr


def test_validate_config_with_a_typo_is_named(tmp_path: Path) -> None:
    (tmp_path / "v.yaml").write_text(yaml.safe_dump({"patient": {"disuse_decy": 0.1}}))
    res = _run("validate", "--quick", "--config", "v.yaml", cwd=tmp_path)
    assert res.returncode == 2 and "disuse_decy" in res.stderr
    assert not (tmp_path / "runs").exists()


def test_validate_rows_that_are_not_measured_are_named_and_nothing_runs(tmp_path: Path) -> None:
    res = _run("validate", "--quick", "--rows", "11", "13", cwd=tmp_path)
    assert res.returncode == 2 and "rows: [13] not measured; allowed: [1, 2" in res.stderr
    res = _run("validate", "--quick", "--ablate", "reward", "--rows", "10", cwd=tmp_path)
    assert res.returncode == 2 and "under --ablate reward" in res.stderr
    assert not (tmp_path / "runs").exists()


def test_validate_reads_its_config(tmp_path: Path) -> None:
    (tmp_path / "v.yaml").write_text(yaml.safe_dump(
        {"seed": 3, "patient": {"plasticity": {"axon_sprout_areas": ["M1", "PM"]}}}))
    cfg = ValidateConfig.quick(load_config(ValidateConfig, tmp_path / "v.yaml"))
    assert cfg.n_patients == 12 and cfg.seed == 3
    assert cfg.patient.plasticity.axon_sprout_areas == ("M1", "PM")


def test_shipped_validate_configs_load() -> None:
    root = Path(__file__).resolve().parents[1] / "configs" / "validate"
    cfg = load_config(ValidateConfig, root / "late_threshold.yaml")
    assert (cfg.threshold_start, cfg.followup_days) == (30, 25)
    assert cfg.early_start == ValidateConfig().early_start  # only row 7's design moves
    cfg = load_config(ValidateConfig, root / "rate_cost_cortex.yaml")
    assert checkpoint_digest(cfg.patient.checkpoint) == checkpoint_digest(
        "healthy_cortex_rate_cost.pt")  # the shipped rate-cost cortex, by name
    cfg = load_config(ValidateConfig, root / "calibrated_rate_cost.yaml")
    assert cfg.patient.checkpoint == "healthy_cortex_rate_cost.pt"
    assert cfg.patient.plasticity.output_covariance > 0
    cfg = load_config(PretrainConfig, root.parent / "pretrain_rate_cost.yaml")
    assert cfg.rate_weight == 40 and cfg.iterations == PretrainConfig().iterations


def test_bad_input_is_one_line_naming_it_not_a_traceback(tmp_path: Path) -> None:
    res = _run("evaluate", "--therapist", "nope", "--patients", "1", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "'nope' is not one of" in res.stderr and "worst_first" in res.stderr
    res = _run("evaluate", "--therapist", "ppo:missing.zip", cwd=tmp_path)
    assert res.returncode == 2 and "model file not found: missing.zip" in res.stderr
    res = _run("train", "--seed", "-1", "--config", str(ROOT_CONFIGS / "ppo_therapy.yaml"),
               cwd=tmp_path)
    assert res.returncode == 2 and "seed: must be >= 0, got -1" in res.stderr
    res = _run("bench", "patient", "--days", "0", cwd=tmp_path)
    assert res.returncode == 2 and "--days: must be an integer >= 1" in res.stderr
    assert not (tmp_path / "runs").exists()


def test_resume_without_a_run_config_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "model.zip").write_bytes(b"not a model")
    res = _run("train", "--resume", "model.zip", cwd=tmp_path)
    assert res.returncode == 2 and "no config.yaml" in res.stderr
    assert "Traceback" not in res.stderr
