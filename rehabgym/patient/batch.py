"""Virtual stroke patients over days: practice, rest (with daily-life use), assessment.

A `PatientBatch` holds P patients whose brains run in one cortex batch and whose arms run in
one arm batch. `Patient` is the one-patient view. Clock: `day` counts days since the stroke.

- `practice(plan)`: the session's reaches, plasticity on (reward-modulated node perturbation,
  gated by the post-stroke window and by fatigue).
- `rest(days)`: each day the patient uses the arm on its own, more when it works better (Han,
  Arbib & Schweighofer 2008), unused output synapses weaken, and the slow daily rules run
  (homeostatic scaling, sprouting and pruning); fatigue recovers.
- `assess()`: a fixed battery (all directions, plasticity off, fixed noise) -> per-direction
  profile and a motor score on 0-100 (healthy ~ 100, no movement 0), plus kinematics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from rehabgym.arm import ArmConfig
from rehabgym.config import from_dict, to_dict
from rehabgym.cortex.brains import Brains
from rehabgym.cortex.lesion import Lesion
from rehabgym.cortex.network import Cortex, Weights
from rehabgym.cortex.plasticity import reinforcement, window_gain
from rehabgym.cortex.sheet import M1, PM
from rehabgym.healthy.checkpoint import load_checkpoint
from rehabgym.patient import rules
from rehabgym.patient.assessment import Assessment, healthy_rates, reach_scores, run_battery
from rehabgym.patient.config import PatientConfig
from rehabgym.patient.plan import SessionPlan, unit_vectors
from rehabgym.patient.records import Biomarkers, SessionOutcome
from rehabgym.patient.state import read_state, write_state
from rehabgym.patient.streams import RandomStreams
from rehabgym.reaching.loop import ClosedLoop
from rehabgym.runtime.heap import trim_heap
from rehabgym.runtime.threads import on_one_torch_thread


@lru_cache(maxsize=4)
def _healthy(checkpoint: str | None) -> tuple[Cortex, ArmConfig]:
    cortex, arm_config = load_checkpoint(checkpoint)
    cortex.requires_grad_(False)
    return cortex, arm_config


class PatientBatch:
    """P virtual patients simulated together.

    Args:
        lesions: one `Lesion` (or None for an intact brain) per patient.
        config: `PatientConfig` shared by the batch.
        seed: fixes all noise (practice, daily life, structural plasticity). Each patient has
            its own random streams, seeded `seed + i` for patient i (a list gives one seed
            each), so a patient's future does not depend on the others in the batch: patient i
            of a batch is the patient of `Patient(lesions[i], seed=seed + i)`.
    """

    @on_one_torch_thread
    def __init__(self, lesions: list[Lesion | None], config: PatientConfig | None = None,
                 seed: int | Sequence[int] = 0) -> None:
        self.config = config or PatientConfig()
        cortex, arm_config = _healthy(self.config.checkpoint)
        if self.config.arm_timestep is not None:
            arm_config = replace(arm_config, timestep=self.config.arm_timestep)
        self.loop = ClosedLoop(cortex, arm_config, nthread=self.config.nthread,
                               device=self.config.device)
        self.brains = Brains(cortex, list(lesions))
        p = self.n_patients
        self.streams = RandomStreams.for_batch(seed, p)
        self.day = np.zeros(p, dtype=int)
        self.dose = np.zeros(p, dtype=int)
        self.fatigue = np.zeros(p)
        self.use = np.ones(p)
        d = self.config.n_directions
        self.unit = unit_vectors(d)
        self.baseline = np.zeros((p, d))
        self._dirty = True
        self._target_rate = healthy_rates(self.loop, self.brains, self.config)
        self.brains.state.target_rate[:] = torch.as_tensor(self._target_rate)
        rules.depress(self.brains, self.config.plasticity, slice(None))
        self.last: list[Assessment] = self.assess()
        self.baseline[:] = np.stack([a.profile for a in self.last]) / 100.0

    # ------------------------------------------------------------------ properties
    @property
    def n_patients(self) -> int:
        return self.brains.n_patients

    @property
    def scores(self) -> np.ndarray:
        """[P] motor score of the latest assessment."""
        return np.array([a.score for a in self.last])

    @property
    def lesions(self) -> list[Lesion | None]:
        return self.brains.lesions

    @property
    def seeds(self) -> list[int]:
        """Each patient's seed (its random streams')."""
        return self.streams.seeds

    # ------------------------------------------------------------------ practice
    @on_one_torch_thread
    def practice(self, plans: list[SessionPlan]) -> list[SessionOutcome]:
        """One session per patient; plasticity on. Every plan is checked before anything runs.

        Returns per patient the session's repetitions, mean reach score (0-1), success rate
        (the fraction of reaches scoring at least the plan's precision, by default
        `plasticity.success_threshold`; NaN for no reaches) and fatigue after it.
        """
        if len(plans) != self.n_patients:
            raise ValueError(f"plans: expected {self.n_patients} plans, got {len(plans)}")
        for plan in plans:
            if not isinstance(plan, SessionPlan):
                raise ValueError(f"plans: expected SessionPlan items, got {type(plan).__name__}")
            plan.check(self.config.n_directions, self.config.max_repetitions)
        reps = np.array([p.repetitions for p in plans])
        dirs = [np.asarray(p.directions, dtype=int) for p in plans]
        sched = [np.resize(d, r) if r else np.zeros(0, int) for d, r in zip(dirs, reps)]
        dist = np.array([p.distance for p in plans])
        assist = np.array([p.assistance for p in plans])
        default = self.config.plasticity.success_threshold
        top = np.array([default if p.precision is None else p.precision for p in plans])
        scores = self._plastic_reaches(sched, dist, assist, effort=1.0 - 0.5 * assist,
                                       threshold=top)
        self.dose += reps
        return [
            SessionOutcome(int(reps[i]), float(np.mean(s)) if len(s) else float("nan"),
                           float(np.mean(s >= top[i])) if len(s) else float("nan"),
                           float(self.fatigue[i]))
            for i, s in enumerate(scores)
        ]

    def _plastic_reaches(self, sched: list[np.ndarray], dist: np.ndarray, assist: np.ndarray,
                         effort: np.ndarray, threshold: np.ndarray | None = None
                         ) -> list[np.ndarray]:
        """Run scheduled reaches in blocks; after each block apply the reward rule (success
        judged at each patient's `threshold`, default `plasticity.success_threshold`)."""
        cfg, pc = self.config, self.config.plasticity
        if threshold is None:
            threshold = np.full(self.n_patients, pc.success_threshold)
        # Every block has `r` = block_size rows, the reaches a patient lacks padded (not
        # simulated as its own, no noise drawn, no advantage): a product's rounding depends on
        # its size, so a shorter block would make a patient's reaches depend on the reaches of
        # the others sharing its batch. Its results are those it would have alone.
        p, r = self.n_patients, cfg.block_size
        n_max = max((len(s) for s in sched), default=0)
        out = [np.zeros(0) for _ in range(p)]
        gens = self.streams.gens
        for start in range(0, n_max, r):
            dir_idx = np.zeros((p, r), dtype=int)
            active = np.zeros((p, r), dtype=bool)
            for i, s in enumerate(sched):
                chunk = s[start:start + r]
                dir_idx[i, :len(chunk)] = chunk
                active[i, :len(chunk)] = True
            # Only the patients with reaches in this block are simulated.
            busy = np.flatnonzero(active.any(1))
            q = len(busy)
            dir_b, act_b = dir_idx[busy], active[busy]
            targets = self.loop.start + dist[busy, None, None] * self.unit[dir_b]
            gain = np.repeat(assist[busy] * cfg.max_assist_gain, r)
            w = self.brains.weights()
            if q < p:  # indexing copies: only when some patients sit this block out
                w = Weights(*(t[busy] for t in w))
            res = self.loop.run(targets, cfg.duration, seed=[gens[i] for i in busy],
                                assist_gain=gain if gain.any() else None,
                                record_rates=pc.reward, weights=w, reaches=act_b.sum(1))
            score = reach_scores(res, cfg.score_window).reshape(q, r)
            # What is reinforced: soft success on the unclipped score plus its graded part (or
            # the score itself with `success` off); the baseline is the block's mean for the
            # same direction.
            outcome = reinforcement(reach_scores(res, cfg.score_window, clip=False).reshape(q, r),
                                    pc.success, threshold[busy, None], pc.success_width,
                                    pc.error_weight if pc.graded else 0.0)
            adv = np.zeros((q, r))
            for j, i in enumerate(busy):
                out[i] = np.concatenate([out[i], score[j, act_b[j]]])
                for d in np.unique(dir_b[j, act_b[j]]):
                    sel = act_b[j] & (dir_b[j] == d)
                    m = outcome[j, sel].mean()
                    if sel.sum() > 1:
                        adv[j, sel] = outcome[j, sel] - m
                    self.baseline[i, d] += pc.baseline_rate * (m - self.baseline[i, d])
            if pc.reward:
                lr_gain = (window_gain(self.day, pc) * np.clip(1.0 - self.fatigue, 0.0, 1.0))
                rules.reward_rule(self.brains, pc, res, adv, busy, act_b.sum(1), lr_gain[busy],
                                  self.loop.threads, self._last_rates)
            self.fatigue += active.sum(1) * cfg.fatigue_per_rep * effort
            self._dirty = True
            del res  # the block's recorded rates and noise go before the next block's come
        return out

    # ------------------------------------------------------------------ rest
    @on_one_torch_thread
    def rest(self, days: int = 1) -> None:
        """Let `days` days pass: daily-life use, disuse, homeostasis, structural plasticity."""
        if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 0:
            raise ValueError(f"days: expected an integer >= 0, got {days!r}")
        cfg, pc = self.config, self.config.plasticity
        for _ in range(days):
            score = np.array([a.score for a in self.last])
            self.use = 0.5 * (1.0 + np.tanh((score - cfg.use_threshold) / (2 * cfg.use_width)))
            if pc.daily_life and cfg.daily_life_reps > 0:
                n_use = np.round(self.use * cfg.daily_life_reps).astype(int)
                sched = [rng.integers(0, cfg.n_directions, k)
                         for rng, k in zip(self.streams.rngs, n_use)]
                dist = np.full(self.n_patients, cfg.distance)
                self._plastic_reaches(sched, dist, np.zeros(self.n_patients),
                                      effort=np.zeros(self.n_patients))
                rules.disuse(self.brains, cfg.disuse_decay, self.use)
            rules.daily_rules(self.brains, pc, self.day, self._last_rates, self.streams.gens)
            self.fatigue *= 1.0 - cfg.fatigue_recovery
            self.day += 1
            self._dirty = True
            self.assess()
        trim_heap()  # the day's buffers back to the system: memory stays flat over long runs

    # ------------------------------------------------------------------ assessment
    @on_one_torch_thread
    def assess(self) -> list[Assessment]:
        """The fixed battery for every patient (plasticity off, fixed noise seed).

        Deterministic for the brain: when nothing changed since the last battery, that one is
        returned without running again.
        """
        if not self._dirty:
            return self.last
        self.last, self._last_rates = run_battery(self.loop, self.brains, self.config, self.day)
        self._dirty = False
        return self.last

    # ------------------------------------------------------------------ read-outs
    @on_one_torch_thread
    def biomarkers(self) -> list[Biomarkers]:
        """What a lab could measure: rates and living fraction per area, synapses, outputs."""
        b = self.brains
        rates = self._last_rates
        area = b.area.numpy()
        out_m1, out_pm = b.output_strength(M1), b.output_strength(PM)
        syn = b.synapse_count()
        alive_m1, alive_pm = b.alive_fraction(M1), b.alive_fraction(PM)
        return [
            Biomarkers(rate_m1=float(rates[i, area == M1].mean()),
                       rate_pm=float(rates[i, area == PM].mean()),
                       alive_m1=float(alive_m1[i]), alive_pm=float(alive_pm[i]),
                       synapses=float(syn[i]), output_m1=float(out_m1[i]),
                       output_pm=float(out_pm[i]), daily_use=float(self.use[i]))
            for i in range(self.n_patients)
        ]

    # ------------------------------------------------------------------ replace / save
    @on_one_torch_thread
    def replace(self, index: int, lesion: Lesion | None, seed: int | None = None) -> None:
        """A new patient in slot `index` (used by vector environments on reset); `seed`
        restarts that slot's random streams (None: they go on), the others are untouched."""
        if not 0 <= index < self.n_patients:
            raise ValueError(f"index: allowed 0..{self.n_patients - 1}, got {index}")
        self.brains.replace(index, lesion)
        self.brains.state.target_rate[index] = torch.as_tensor(self._target_rate)
        rules.depress(self.brains, self.config.plasticity, slice(index, index + 1))
        self.day[index], self.dose[index], self.fatigue[index], self.use[index] = 0, 0, 0.0, 1.0
        self._dirty = True
        if seed is not None:
            self.streams.reseed(index, seed)
        self.last = self.assess()
        self.baseline[index] = self.last[index].profile / 100.0

    def get_state(self) -> dict:
        """Everything that fixes the batch's future (weights, masks, clock, RNG states)."""
        return {
            "config": to_dict(self.config),
            "lesions": [None if les is None else asdict(les) for les in self.lesions],
            "brains": self.brains.get_state(),
            "day": self.day.copy(), "dose": self.dose.copy(), "fatigue": self.fatigue.copy(),
            "use": self.use.copy(), "baseline": self.baseline.copy(),
            **self.streams.get_state(),
            "last": self.last, "last_rates": self._last_rates.copy(), "dirty": self._dirty,
        }

    @classmethod
    def from_state(cls, state: dict) -> PatientBatch:
        lesions = [None if d is None else Lesion(**d) for d in state["lesions"]]
        if "seeds" not in state:
            raise ValueError("state: saved by an older rehabgym (one random stream per batch, "
                             "not per patient); it cannot be restored exactly")
        obj = cls(lesions, from_dict(PatientConfig, state["config"]), seed=state["seeds"])
        obj.set_state(state)
        return obj

    @on_one_torch_thread
    def set_state(self, state: dict) -> None:
        self.brains.set_state(state["brains"])
        self.brains.lesions = [None if d is None else Lesion(**d) for d in state["lesions"]]
        for k in ("day", "dose", "fatigue", "use", "baseline"):
            setattr(self, k, np.array(state[k]).copy())
        self.streams.set_state(state)
        self.last, self._last_rates = list(state["last"]), state["last_rates"].copy()
        self._dirty = state["dirty"]

    def __getstate__(self) -> dict:
        return self.get_state()

    def __setstate__(self, state: dict) -> None:
        obj = PatientBatch.from_state(state)
        self.__dict__.update(obj.__dict__)

    def save(self, path: str | Path) -> None:
        write_state(self.get_state(), path)

    @classmethod
    def load(cls, path: str | Path) -> PatientBatch:
        return cls.from_state(read_state(path))


class Patient:
    """One virtual patient (a `PatientBatch` of one, with scalar views).

    Example:
        >>> p = Patient(Lesion(focal_center=(1.0, 1.0), focal_radius=0.6), seed=0)
        >>> p.assess().score
        >>> p.practice(SessionPlan(directions=(0, 4), repetitions=60)); p.rest(1)
    """

    def __init__(self, lesion: Lesion | None = None, config: PatientConfig | None = None,
                 seed: int = 0, _batch: PatientBatch | None = None) -> None:
        self.batch = _batch or PatientBatch([lesion], config, seed)

    @property
    def lesion(self) -> Lesion | None:
        return self.batch.lesions[0]

    @property
    def config(self) -> PatientConfig:
        return self.batch.config

    @property
    def day(self) -> int:
        return int(self.batch.day[0])

    @property
    def dose(self) -> int:
        return int(self.batch.dose[0])

    @property
    def fatigue(self) -> float:
        return float(self.batch.fatigue[0])

    @property
    def last_assessment(self) -> Assessment:
        return self.batch.last[0]

    @property
    def brains(self) -> Brains:
        return self.batch.brains

    def practice(self, plan: SessionPlan) -> SessionOutcome:
        return self.batch.practice([plan])[0]

    def rest(self, days: int = 1) -> None:
        self.batch.rest(days)

    def assess(self) -> Assessment:
        return self.batch.assess()[0]

    def biomarkers(self) -> Biomarkers:
        return self.batch.biomarkers()[0]

    def save(self, path: str | Path) -> None:
        self.batch.save(path)

    @classmethod
    def load(cls, path: str | Path) -> Patient:
        return cls(_batch=PatientBatch.load(path))
