"""What a trial adds to the engine: its patients' screening, and their one-thread environment."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding

from rehabgym.config import from_dict, to_dict
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.envs.ward import admission
from rehabgym.evaluation.cohort import env_make_kwargs
from rehabgym.evaluation.engine import ChunkError, ChunkTask
from rehabgym.patient import PatientBatch
from rehabgym.runtime.threads import torch_threads


def trial_env_kwargs(env: TherapyEnvConfig) -> dict[str, Any]:
    """The `gymnasium.make` keyword arguments of a trial's chunks (plain data): the config,
    its simulation on one thread (parallelism comes from chunks), and its horizon."""
    data = to_dict(env)
    data["patient"]["nthread"] = 1
    return env_make_kwargs(data)


def screen_chunk(task: ChunkTask) -> dict[str, np.ndarray]:
    """The acute motor score (the day of the stroke) of each patient of the chunk: the lesion
    and patient seed its environment would admit, assessed in one batch."""
    cfg = from_dict(TherapyEnvConfig, task.env_kwargs["config"])
    cohort = cfg.cohort_config()
    # the generator a vector env's slot is reset with, for the same seed
    admitted = [admission(cohort, seeding.np_random(seed)[0]) for seed in task.seeds]
    try:
        with torch_threads(1):
            batch = PatientBatch([lesion for lesion, _ in admitted], cfg.patient,
                                 seed=[s for _, s in admitted])
    except Exception as exc:
        raise ChunkError(f"screening {task.describe()}: {type(exc).__name__}: {exc}") from exc
    return {"seeds": np.asarray(task.seeds, dtype=np.int64), "acute": batch.scores}
