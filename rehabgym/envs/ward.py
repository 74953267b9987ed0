"""`TherapyWard`: the N patients of a therapy episode, simulated in one `PatientBatch`.

Both the single environment and the native vector environment are thin Gymnasium shells
around a ward: it admits patients (lesion drawn from the cohort, own seed, rest until the
start day), treats them one therapy day at a time (practice, rest, assessment, reward terms
computed after the update) and says what a clinic sees (observations, info). Reset options are
checked here too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from gymnasium import spaces

from rehabgym.config import to_dict
from rehabgym.cortex.lesion import Lesion
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.patient import (
    BIOMARKER_NAMES,
    N_DIRECTIONS,
    Assessment,
    Biomarkers,
    CohortConfig,
    PatientBatch,
    PatientConfig,
    SessionPlan,
)

# Observation layout: profile (8) | score | therapy day | dose | fatigue | success | biomarkers
OBS_PROFILE = slice(0, N_DIRECTIONS)
OBS_SCORE = N_DIRECTIONS
OBS_DAY = N_DIRECTIONS + 1
OBS_DOSE = N_DIRECTIONS + 2
OBS_FATIGUE = N_DIRECTIONS + 3
OBS_SUCCESS = N_DIRECTIONS + 4  # success rate of the latest session practised (0 before one)
N_CLINICAL = N_DIRECTIONS + 5

# Biomarkers in the observation of the biomarker variant, each divided by the patient's own
# pre-stroke (healthy) value, so 1 = as before the stroke (`BIOMARKER_NAMES`' order). Clipped
# to [0, BIOMARKER_MAX].
BIOMARKER_MAX = 5.0


def observation_space(cfg: TherapyEnvConfig) -> spaces.Box:
    """float32 Box: profile/100 (8), score/100, therapy day/horizon, dose, fatigue, the latest
    session's success rate (all in [0, 1]), then for the biomarker variant each biomarker / its
    pre-stroke value."""
    n_bio = len(BIOMARKER_NAMES) if cfg.biomarkers else 0
    high = np.concatenate([np.ones(N_CLINICAL), np.full(n_bio, BIOMARKER_MAX)])
    return spaces.Box(low=np.zeros_like(high, dtype=np.float32),
                      high=high.astype(np.float32), dtype=np.float32)


_HEALTHY_BIOMARKERS: dict[str, Biomarkers] = {}


def healthy_biomarkers(config: PatientConfig) -> Biomarkers:
    """Biomarkers of an intact brain under `config` (computed once per config and process)."""
    key = repr(to_dict(config))
    if key not in _HEALTHY_BIOMARKERS:
        _HEALTHY_BIOMARKERS[key] = PatientBatch([None], config, seed=0).biomarkers()[0]
    return _HEALTHY_BIOMARKERS[key]


def current_assessments(batch: PatientBatch) -> list[Assessment]:
    """Today's assessments: the batch's latest if it assessed today (rest does, by default),
    else a new battery."""
    if all(a.day == d for a, d in zip(batch.last, batch.day)):
        return list(batch.last)
    return batch.assess()


def admission(cohort: CohortConfig, rng: np.random.Generator, lesion: Lesion | None = None
              ) -> tuple[Lesion, int]:
    """The patient a ward slot admits from its generator: the lesion drawn from `cohort`
    (unless given), then the patient's own seed. A trial screens its patients with it, without
    an environment."""
    lesion = cohort.sample(rng) if lesion is None else lesion
    return lesion, int(rng.integers(2**31 - 1))


class TherapyWard:
    """N patients in one `PatientBatch`, with what a therapy episode keeps per patient.

    `admit` draws N new patients from per-slot random generators (lesion, then patient seed),
    simulates them as one new batch, rests them to `start_day` and assesses them; `treat` runs
    one therapy day for every slot (practice, one day of rest, assessment) and returns the
    reward terms. All slots start and end their episodes together.
    """

    def __init__(self, cfg: TherapyEnvConfig, n: int) -> None:
        self.cfg = cfg
        self.n = int(n)
        self.batch: PatientBatch | None = None
        self.lesions: list[Lesion] = []
        self.assessment: list[Assessment] = []
        self.therapy_day = np.zeros(self.n, dtype=np.int64)
        self.history: list[list[float]] = [[] for _ in range(self.n)]
        self.success = np.zeros(self.n)  # success rate of each slot's latest session

    def admit(self, rngs: list[np.random.Generator],
              lesions: list[Lesion | None] | None = None) -> None:
        """New patients in every slot: lesion from the cohort (unless given), seed from `rngs`."""
        lesions = lesions or [None] * self.n
        if len(rngs) != self.n or len(lesions) != self.n:
            raise ValueError(f"admit: expected {self.n} generators and lesions")
        cohort = self.cfg.cohort_config()
        # Each patient's own seed: slot i of a vector env is the single env of the same seed.
        admitted = [admission(cohort, rng, les) for rng, les in zip(rngs, lesions)]
        self.lesions = [lesion for lesion, _ in admitted]
        seeds = [seed for _, seed in admitted]
        self.batch = PatientBatch(self.lesions, self.cfg.patient, seed=seeds)
        if self.cfg.start_day > 0:
            self.batch.rest(self.cfg.start_day)
        self.assessment = current_assessments(self.batch)
        self.therapy_day[:] = 0
        self.success[:] = 0.0
        self.history = [[float(a.score)] for a in self.assessment]

    def treat(self, plans: list[SessionPlan]) -> list[dict[str, float]]:
        """One therapy day for every slot; the reward terms, computed after the update."""
        before = [float(a.score) for a in self.assessment]
        sessions = self.batch.practice(plans)
        self.batch.rest(1)
        self.assessment = current_assessments(self.batch)
        self.therapy_day += 1
        terms = []
        for i, plan in enumerate(plans):
            score = float(self.assessment[i].score)
            self.history[i].append(score)
            gain = score - before[i]
            cost = self.cfg.cost_per_rep * plan.repetitions
            rate = sessions[i].success_rate
            if plan.repetitions:
                self.success[i] = rate
            terms.append({"reward": gain - cost, "reward_gain": gain, "reward_cost": cost,
                          "repetitions": int(plan.repetitions), "success_rate": rate,
                          "mean_reach_score": sessions[i].mean_reach_score})
        return terms

    def truncated(self, slot: int) -> bool:
        return bool(self.therapy_day[slot] >= self.cfg.horizon_days)

    def observations(self) -> np.ndarray:
        """[N, obs_dim] float32 observations, inside `observation_space(cfg)`."""
        cfg = self.cfg
        profile = np.stack([a.profile for a in self.assessment]).astype(np.float64) / 100.0
        score = np.array([a.score for a in self.assessment]) / 100.0
        clinical = np.column_stack([
            profile, score, self.therapy_day / cfg.horizon_days,
            self.batch.dose / cfg.dose_norm, self.batch.fatigue / cfg.fatigue_scale,
            self.success])
        parts = [np.clip(clinical, 0.0, 1.0)]
        if cfg.biomarkers:
            ref = healthy_biomarkers(cfg.patient).as_array()
            values = np.stack([b.as_array() for b in self.batch.biomarkers()])
            np.divide(values, ref, out=values, where=ref != 0)  # a zero reference: as it is
            parts.append(np.clip(np.nan_to_num(values), 0.0, BIOMARKER_MAX))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def info(self, slot: int) -> dict[str, Any]:
        """What a clinic records: score, profile, lesion summary, day since stroke, dose."""
        a = self.assessment[slot]
        return {"score": float(a.score), "profile": np.asarray(a.profile, dtype=np.float64),
                "lesion": {k: float(v) for k, v in self.lesions[slot].summary().items()},
                "day": int(self.batch.day[slot]), "therapy_day": int(self.therapy_day[slot]),
                "dose": int(self.batch.dose[slot])}


def lesion_from_option(value: Any) -> Lesion:
    """A `Lesion` from `options["lesion"]`: a `Lesion` or a dict of its fields."""
    if isinstance(value, Lesion):
        return value
    if isinstance(value, dict):
        try:
            return Lesion(**value)
        except TypeError as exc:
            raise ValueError(f"options['lesion']: {exc}; allowed keys: "
                             f"{[f.name for f in dataclasses.fields(Lesion)]}") from exc
    raise ValueError(f"options['lesion']: expected a Lesion or a dict, got {value!r}")


def check_options(options: dict[str, Any] | None) -> Lesion | None:
    """The fixed lesion in reset `options`, if any; unknown option keys are an error."""
    if not options:
        return None
    unknown = sorted(set(options) - {"lesion"})
    if unknown:
        raise ValueError(f"reset options: unknown key(s) {unknown}; allowed: ['lesion']")
    return lesion_from_option(options["lesion"]) if "lesion" in options else None
