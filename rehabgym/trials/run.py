"""`rehabgym trial`: enrol, screen, randomise, treat, report — chunk by chunk, resumable.

Every finished chunk is saved in `<out>/stages/` at once (atomically), so a trial killed and
started again with the same `--out` and config continues from the chunks it had finished:
nothing is lost and nothing counted twice. The backend and the number of workers are not part
of the config: a trial may go on with others, and gives the same per-patient results.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gymnasium.utils import seeding
from tqdm import tqdm

from rehabgym.config import save_config, to_dict
from rehabgym.envs.ward import admission
from rehabgym.healthy.checkpoint import checkpoint_digest
from rehabgym.stages import Stages
from rehabgym.trials.config import TrialConfig
from rehabgym.trials.engine import (
    ArmTherapist,
    ChunkFn,
    ChunkTask,
    one_thread_env,
    run_chunks,
    screen_chunk,
    treat_chunk,
)
from rehabgym.trials.randomise import randomise, strata_of


@dataclass
class TrialResult:
    """Every enrolled patient of a trial, in enrolment order (one row each)."""

    config: TrialConfig
    seeds: np.ndarray  # [N] environment seed
    acute: np.ndarray  # [N] motor score on the day of the stroke (screening)
    strata: np.ndarray  # [N] stratum of the acute score
    arms: np.ndarray  # [N] arm index (into config.arms)
    scores: np.ndarray  # [N, T + 1] motor score by therapy day (0: the start of therapy)
    actions: np.ndarray  # [N, T, 4]
    rewards: np.ndarray  # [N, T]
    dose: np.ndarray  # [N] repetitions practised
    lesions: list[dict[str, float]]  # each patient's lesion (its summary)

    @property
    def arm_names(self) -> np.ndarray:
        return np.array(self.config.arm_names)[self.arms]

    @property
    def baseline(self) -> np.ndarray:
        return self.scores[:, 0]

    def outcome(self, name: str) -> np.ndarray:
        """[N] one outcome of every patient (see `OUTCOMES`)."""
        final = self.scores[:, -1]
        if name == "final_score":
            return final
        if name == "gain":
            return final - self.baseline
        if name == "recovery_fraction":
            room = 100.0 - self.baseline
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(room > 1e-9, (final - self.baseline) / room, np.nan)
        if name == "dose":
            return self.dose.astype(float)
        if name == "return":
            return self.rewards.sum(1)
        raise ValueError(f"outcome: {name!r} is not a trial outcome")

    @property
    def responders(self) -> np.ndarray:
        """[N] gain of at least the minimal clinically important difference."""
        return self.outcome("gain") >= self.config.mcid


def fingerprint(cfg: TrialConfig) -> dict:
    """What a trial's results depend on: its config, the cortex checkpoint and the models."""
    models = [hashlib.sha256(arm.model_path.read_bytes()).hexdigest() if arm.model_path
              else None for arm in cfg.arms]
    return {"config": to_dict(cfg), "models": models,
            "checkpoint": checkpoint_digest(cfg.env.patient.checkpoint)}


def run_trial(cfg: TrialConfig, out: str | Path, backend: str = "local",
              workers: int | None = None, address: str | None = None,
              progress: bool = True) -> TrialResult:
    """The whole trial into `out` (stages; the report is `write_report`'s): screening and
    treatment in chunks of `cfg.chunk_patients` on `backend` with `workers` (default: the
    cores; Ray: a cluster at `address`, else a local one)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    stages = Stages(out, fingerprint(cfg), "rehabgym trial")
    seeds = cfg.first_seed + np.arange(cfg.n_patients, dtype=np.int64)
    c = cfg.chunk_patients
    parts = [seeds[i:i + c] for i in range(0, len(seeds), c)]
    env = one_thread_env(cfg.env)
    run = {"backend": backend, "workers": workers, "address": address, "progress": progress}

    screened = _stage(stages, "screen", [ChunkTask(k, tuple(map(int, p)), env=env)
                                         for k, p in enumerate(parts)],
                      screen_chunk, unit="patient", per_patient=1, **run)
    acute = np.concatenate([s["acute"] for s in screened])
    strata = strata_of(acute, cfg.randomisation)
    arms = randomise(strata, len(cfg.arms), cfg.randomisation)

    therapists = tuple(ArmTherapist.of(arm.therapist) for arm in cfg.arms)
    tasks = [ChunkTask(k, tuple(map(int, p)), tuple(map(int, arms[k * c:k * c + len(p)])),
                       therapists, cfg.env_id, env, cfg.sample) for k, p in enumerate(parts)]
    treated = _stage(stages, "treat", tasks, treat_chunk, unit="patient-day",
                     per_patient=cfg.env.horizon_days, **run)
    cohort = cfg.env.cohort_config()
    lesions = [admission(cohort, seeding.np_random(int(s))[0])[0].summary() for s in seeds]
    return TrialResult(cfg, seeds, acute, strata, arms,
                       **{k: np.concatenate([t[k] for t in treated])
                          for k in ("scores", "actions", "rewards", "dose")},
                       lesions=lesions)


def _stage(stages: Stages, name: str, tasks: Sequence[ChunkTask], fn: ChunkFn, unit: str,
           per_patient: int, backend: str, workers: int | None, address: str | None,
           progress: bool) -> list[dict[str, np.ndarray]]:
    """Every task's result: those saved by an earlier run read back, the rest run on the
    backend and each saved as soon as it finishes."""
    results: dict[int, dict[str, np.ndarray]] = {}
    for task in tasks:
        done = stages.load_arrays(f"{name}_{task.index:05d}", announce=False)
        if done is not None:
            results[task.index] = done
    if results:
        print(f"rehabgym trial: {len(results)} of {len(tasks)} {name} chunks finished in an "
              f"earlier run, read from {stages.folder}", file=sys.stderr)
    todo = [t for t in tasks if t.index not in results]
    total = sum(len(t.seeds) for t in tasks) * per_patient
    with tqdm(total=total, desc=name, unit=unit, disable=not progress,
              initial=total - sum(len(t.seeds) for t in todo) * per_patient) as bar:
        for task, result in run_chunks(fn, todo, backend, workers, address):
            stages.save_arrays(f"{name}_{task.index:05d}", result)
            results[task.index] = result
            bar.update(len(task.seeds) * per_patient)
    return [results[t.index] for t in tasks]
