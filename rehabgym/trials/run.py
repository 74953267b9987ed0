"""`rehabgym trial`: enrol, screen, randomise, treat, report — chunk by chunk, resumable.

Every finished chunk is saved in `<out>/stages/` at once (atomically), so a trial killed and
started again with the same `--out` and config continues from the chunks it had finished:
nothing is lost and nothing counted twice. The backend and the number of workers are not part
of the config: a trial may go on with others, and gives the same per-patient results.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gymnasium.utils import seeding

from rehabgym.config import save_config, to_dict
from rehabgym.envs.ward import admission
from rehabgym.evaluation.engine import ArmTherapist, ChunkTask, run_stages, treat_chunk
from rehabgym.healthy.checkpoint import checkpoint_digest
from rehabgym.stages import Stages
from rehabgym.trials.config import TrialConfig
from rehabgym.trials.randomise import randomise, strata_of
from rehabgym.trials.screening import screen_chunk, trial_env_kwargs


@dataclass
class TrialResult:
    """Every enrolled patient of a trial, in enrolment order (one row each)."""

    config: TrialConfig
    seeds: np.ndarray  # [N] environment seed
    acute: np.ndarray  # [N] motor score on the day of the stroke (screening)
    strata: np.ndarray  # [N] stratum of the acute score
    arms: np.ndarray  # [N] arm index (into config.arms)
    scores: np.ndarray  # [N, T + 1] motor score by therapy day (0: the start of therapy)
    actions: np.ndarray  # [N, T, entries] (4, or 5 with precision levels)
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
    env = trial_env_kwargs(cfg.env)
    run = {"backend": backend, "workers": workers, "address": address, "progress": progress}

    screened = run_stages(stages, "screen", [ChunkTask(k, tuple(map(int, p)), env_kwargs=env)
                                         for k, p in enumerate(parts)],
                          screen_chunk, **run)
    acute = np.concatenate([s["acute"] for s in screened])
    strata = strata_of(acute, cfg.randomisation)
    arms = randomise(strata, len(cfg.arms), cfg.randomisation)

    therapists = tuple(ArmTherapist.of(arm.therapist) for arm in cfg.arms)
    tasks = [ChunkTask(k, tuple(map(int, p)), tuple(map(int, arms[k * c:k * c + len(p)])),
                       therapists, cfg.env_id, env, cfg.sample) for k, p in enumerate(parts)]
    treated = run_stages(stages, "treat", tasks, treat_chunk, unit="patient-day",
                         per_patient=cfg.env.horizon_days, **run)
    cohort = cfg.env.cohort_config()
    lesions = [admission(cohort, seeding.np_random(int(s))[0])[0].summary() for s in seeds]
    return TrialResult(cfg, seeds, acute, strata, arms,
                       **{k: np.concatenate([t[k] for t in treated])
                          for k in ("scores", "actions", "rewards", "dose")},
                       lesions=lesions)
