"""`rehabgym evaluate`: therapists named by their specs on a held-out cohort, with the report.

A model's spec (`ppo:runs/<run>/model.zip`) brings its run's environment settings with it, so
a model is evaluated on the task it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rehabgym.config import load_yaml
from rehabgym.evaluation.cohort import RECORD_KEYS, CohortResult, env_make_kwargs
from rehabgym.evaluation.engine import ArmTherapist, ChunkTask, run_stages, treat_chunk
from rehabgym.evaluation.report import markdown_table, save_report
from rehabgym.healthy.checkpoint import checkpoint_digest
from rehabgym.stages import Stages
from rehabgym.therapists import BASELINES, check_spec
from rehabgym.therapists.registry import resolve_spec


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
    env_id: str = "rehabgym/Therapy-v2",
    env_kwargs: dict[str, Any] | None = None,
    seed: int = 1_000_000,
    baselines: Sequence[str] | None = None,
    sample: bool = False,
    workers: int | None = 1,
    max_batch: int = 32,
    backend: str = "local",
    address: str | None = None,
) -> list[dict[str, Any]]:
    """`specs` (the first is tested against the rest) and `baselines` (default:
    `BASELINES`) on `patients` held-out seeded patients; report written into `out`, table
    printed. Environment kwargs default to those of the run a model spec comes from.
    `sample`: models act by sampling their policy (seeded per patient), not by its argmax.
    Each therapist's patients run in chunks of up to `max_batch` on the trial engine
    (`backend` "local" with `workers` processes, None: the cores; or "ray", on a cluster at
    `address` or a local one), each chunk kept in `out/stages/` once finished: run again with
    the same `out`, a killed evaluation continues after the chunks it had finished."""
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
    for name in names:
        check_spec(name)  # a bad spec or a missing model fails before any work
    seeds = [seed + i for i in range(patients)]
    # an env YAML's content, not its path: what the results depend on, and what a worker reads
    env_kwargs = {k: load_yaml(v) if k == "config" and isinstance(v, str) else v
                  for k, v in env_kwargs.items()}
    fingerprint = {"therapists": [resolve_spec(n) for n in names],
                   "checkpoint": checkpoint_digest(_checkpoint(env_kwargs)),
                   "models": [_model_stamp(n) for n in names],
                   "seeds": seeds, "env_id": env_id, "env_kwargs": env_kwargs, "sample": sample,
                   "max_batch": max_batch}
    stages = Stages(out, fingerprint, "rehabgym evaluate")
    plan = [(name, ArmTherapist.of(name), sample) for name in names]
    results = treat_plan(plan, seeds, env_id, env_kwargs, stages, max_batch, workers, backend,
                         address)
    rows = save_report(results, out)
    print(markdown_table(rows))
    print(f"report: {out}")
    return rows


def treat_plan(plan: Sequence[tuple[str, ArmTherapist, bool]], seeds: Sequence[int],
               env_id: str, env_kwargs: dict[str, Any], stages: Stages, max_batch: int,
               workers: int | None = 1, backend: str = "local", address: str | None = None,
               progress: bool = True) -> dict[str, CohortResult]:
    """Each (name, therapist, sample) of `plan` treats the seeded patients, in chunks of up
    to `max_batch` patients of its own (the engine's tasks, each kept in `stages` once
    finished); one `CohortResult` per name, in order."""
    tasks = []
    for _, therapist, sample in plan:
        for start in range(0, len(seeds), max_batch):
            part = tuple(seeds[start:start + max_batch])
            tasks.append(ChunkTask(len(tasks), part, (0,) * len(part), (therapist,), env_id,
                                   env_kwargs, sample))
    chunks = run_stages(stages, "therapy", tasks, treat_chunk, backend=backend,
                        workers=workers, address=address, progress=progress)
    per_name = -(-len(seeds) // max_batch)
    return {name: CohortResult(name=name, seeds=np.asarray(seeds), **{
        key: np.concatenate([c[key] for c in chunks[k * per_name:(k + 1) * per_name]])
        for key in RECORD_KEYS}) for k, (name, _, _) in enumerate(plan)}
