"""`rehabgym evaluate`: therapists named by their specs on a held-out cohort, with the report.

A model's spec (`ppo:runs/<run>/model.zip`) brings its run's environment settings with it, so
a model is evaluated on the task it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rehabgym.config import load_yaml
from rehabgym.evaluation.cohort import env_make_kwargs, run_cohort
from rehabgym.evaluation.report import markdown_table, save_report
from rehabgym.healthy.checkpoint import checkpoint_digest
from rehabgym.stages import Stages
from rehabgym.therapists import BASELINES, therapist_factory


def run_settings(spec: str) -> dict[str, Any] | None:
    """The training config of the run an `<algorithm>:<zip>` spec comes from, if it has one
    (`<run>/model.zip` or `<run>/checkpoints/*.zip` beside `<run>/config.yaml`)."""
    if ":" not in spec:
        return None
    path = Path(spec.split(":", 1)[1]).resolve()
    for folder in (path.parent, path.parent.parent):
        if (folder / "config.yaml").is_file():
            return load_yaml(folder / "config.yaml")
    return None


def _model_stamp(spec: str) -> list[float] | None:
    """Size and modification time of a spec's model file (None for a heuristic)."""
    if ":" not in spec:
        return None
    stat = Path(spec.split(":", 1)[1]).stat()
    return [stat.st_size, stat.st_mtime]


def _checkpoint(env_kwargs: dict[str, Any]) -> str | None:
    """The cortex checkpoint the environments' patients load (None: the shipped one)."""
    cfg = env_kwargs.get("config")
    if isinstance(cfg, str):
        cfg = load_yaml(cfg)
    patient = cfg.get("patient") if isinstance(cfg, dict) else getattr(cfg, "patient", None)
    patient = env_kwargs.get("patient", patient)
    if isinstance(patient, dict):
        return patient.get("checkpoint")
    return getattr(patient, "checkpoint", None)


def compare_therapists(
    specs: Sequence[str],
    patients: int,
    out: Path,
    env_id: str = "rehabgym/Therapy-v1",
    env_kwargs: dict[str, Any] | None = None,
    seed: int = 1_000_000,
    baselines: Sequence[str] | None = None,
    sample: bool = False,
) -> list[dict[str, Any]]:
    """`specs` (the first is tested against the rest) and `baselines` (default:
    `BASELINES`) on `patients` held-out seeded patients; report written into `out`, table
    printed. Environment kwargs default to those of the run a model spec comes from.
    `sample`: models act by sampling their policy (seeded per patient), not by its argmax.
    Each therapist's results are kept in `out/stages/` once finished: run again with the same
    `out`, a killed evaluation continues after the therapists it had finished."""
    if patients < 1:
        raise ValueError(f"patients: must be >= 1, got {patients}")
    if env_kwargs is None:
        env_kwargs = {}
        settings = next((s for s in map(run_settings, specs) if s), None)
        if settings is not None:
            env_id = settings.get("env_id", env_id)
            env_kwargs = env_make_kwargs(settings.get("env_config"), settings.get("env_kwargs"))
    else:
        rest = {k: v for k, v in env_kwargs.items() if k != "config"}
        env_kwargs = env_make_kwargs(env_kwargs.get("config"), rest)
    env_kwargs = {**env_kwargs, "action_type": "multidiscrete"}
    names = list(dict.fromkeys([*specs, *(BASELINES if baselines is None else baselines)]))
    plan = {name: therapist_factory(name, sample) for name in names}
    seeds = [seed + i for i in range(patients)]
    env_for_stamp = {k: load_yaml(v) if k == "config" and isinstance(v, str) else v
                     for k, v in env_kwargs.items()}  # an env YAML's content, not its path
    fingerprint = {"therapists": names, "checkpoint": checkpoint_digest(_checkpoint(env_kwargs)),
                   "models": [_model_stamp(n) for n in names],
                   "seeds": seeds, "env_id": env_id, "env_kwargs": env_for_stamp, "sample": sample}
    stages = Stages(out, fingerprint, "rehabgym evaluate")
    results = run_cohort(plan, env_id, env_kwargs, seeds, progress=True, stages=stages)
    rows = save_report(results, out)
    print(markdown_table(rows))
    print(f"report: {out}")
    return rows
