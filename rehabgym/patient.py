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

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from rehabgym.config import from_dict, to_dict
from rehabgym.cortex.brains import Brains
from rehabgym.cortex.lesion import CohortConfig, Lesion
from rehabgym.cortex.network import Cortex, Weights
from rehabgym.cortex.plasticity import (
    PlasticityConfig,
    acute_depression,
    axonal_sprouting,
    corticospinal_sprouting,
    homeostatic_scaling,
    lost_targets,
    prune,
    resolve,
    reward_update,
    scale_outputs,
    sprout,
    window_gain,
)
from rehabgym.cortex.sheet import AREA_NAMES, M1, PM
from rehabgym.parallel import torch_threads
from rehabgym.reaching.loop import ClosedLoop, ReachResult

N_DIRECTIONS = 8


@dataclass(frozen=True)
class SessionPlan:
    """What one session practises. `directions` are indices of the center-out directions."""

    directions: tuple[int, ...] = ()
    repetitions: int = 0
    distance: float = 0.10  # m
    assistance: float = 0.0  # 0 (none) .. 1 (the strongest assistive spring)

    def check(self, n_directions: int = N_DIRECTIONS, max_repetitions: int = 1000) -> None:
        """Raise a ValueError naming the bad field and what is allowed."""
        reps = self.repetitions
        if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)):
            raise ValueError(f"repetitions: expected an integer, got {self.repetitions!r}")
        if not 0 <= self.repetitions <= max_repetitions:
            raise ValueError(f"repetitions: allowed 0..{max_repetitions}, got {self.repetitions}")
        for d in self.directions:
            if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not (
                0 <= d < n_directions
            ):
                raise ValueError(
                    f"directions: {d!r} is not a direction; allowed integers 0..{n_directions - 1}"
                )
        if self.repetitions > 0 and not self.directions:
            raise ValueError("directions: repetitions > 0 need at least one direction")
        if not (math.isfinite(self.distance) and 0.02 <= self.distance <= 0.2):
            raise ValueError(f"distance: allowed 0.02..0.2 m, got {self.distance}")
        if not (math.isfinite(self.assistance) and 0.0 <= self.assistance <= 1.0):
            raise ValueError(f"assistance: allowed 0..1, got {self.assistance}")


@dataclass
class Assessment:
    """One assessment battery (numpy arrays over the directions)."""

    day: int
    score: float  # 0-100
    profile: np.ndarray  # [D] per-direction score 0-100
    endpoint_error: np.ndarray  # [D] m
    path_ratio: np.ndarray  # [D]
    n_speed_peaks: np.ndarray  # [D]
    movement_time: np.ndarray  # [D] s
    success: np.ndarray  # [D] fraction of successful reaches
    hand_position: np.ndarray  # [D, T + 1, 2] first repeat's trajectories
    targets: np.ndarray  # [D, 2]
    start: np.ndarray  # [2]

    def summary(self) -> dict[str, float]:
        return {
            "score": float(self.score),
            "endpoint_error_cm": float(100 * np.nanmean(self.endpoint_error)),
            "path_ratio": float(np.nanmean(self.path_ratio)),
            "n_speed_peaks": float(np.nanmean(self.n_speed_peaks)),
            "movement_time": float(np.nanmean(self.movement_time)),
            "success": float(np.mean(self.success)),
        }


@dataclass
class PatientConfig:
    """Every default of a patient (the plasticity rules included)."""

    plasticity: PlasticityConfig = field(default_factory=PlasticityConfig)
    checkpoint: str | None = None  # cortex checkpoint; None = the healthy one shipped
    n_directions: int = N_DIRECTIONS
    distance: float = 0.10  # m, assessment distance
    duration: float = 1.0  # s per reach
    score_window: tuple[float, float] = (0.6, 1.0)  # s: error averaged here scores a reach
    assessment_repeats: int = 2
    assessment_seed: int = 12345
    block_size: int = 32  # reaches per plasticity update
    max_repetitions: int = 500
    max_assist_gain: float = 150.0  # N/m, assistance 1
    fatigue_per_rep: float = 0.004  # fatigue added by an unassisted repetition
    fatigue_recovery: float = 0.7  # fraction of fatigue gone after a day
    daily_life_reps: int = 40  # spontaneous reaches per day at full use
    use_threshold: float = 40.0  # score at which half of full daily use happens
    use_width: float = 10.0
    disuse_decay: float = 0.02  # daily weakening of output synapses at zero use
    nthread: int | None = None

    def __post_init__(self) -> None:
        if self.n_directions < 1:
            raise ValueError(f"n_directions: must be >= 1, got {self.n_directions}")
        if self.block_size < 1 or self.assessment_repeats < 1:
            raise ValueError("block_size, assessment_repeats: must be >= 1")
        if not 0 <= self.fatigue_recovery <= 1:
            raise ValueError(f"fatigue_recovery: allowed 0..1, got {self.fatigue_recovery}")


@lru_cache(maxsize=4)
def _healthy(checkpoint: str | None) -> tuple[Cortex, object]:
    from rehabgym.pretrain import load_checkpoint

    cortex, arm_config = load_checkpoint(checkpoint)
    cortex.requires_grad_(False)
    return cortex, arm_config


def reach_scores(result: ReachResult, window: tuple[float, float], clip: bool = True
                 ) -> np.ndarray:
    """[B] score of each reach in [0, 1]: 1 - (mean distance to target in `window`) / distance.

    No movement scores 0; reaching and holding on target scores ~1. Unclipped (`clip=False`),
    moving away from the target scores below 0.
    """
    t = np.arange(result.hand_position.shape[1]) * result.dt
    sel = (t >= window[0] - 1e-9) & (t <= window[1] + 1e-9)
    err = np.linalg.norm(result.hand_position[:, sel] - result.target[:, None], axis=-1).mean(1)
    dist = np.linalg.norm(result.target - result.start, axis=1)
    score = 1.0 - err / dist
    return np.clip(score, 0.0, 1.0) if clip else score


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

    def __init__(self, lesions: list[Lesion | None], config: PatientConfig | None = None,
                 seed: int | Sequence[int] = 0) -> None:
        self.config = config or PatientConfig()
        cortex, arm_config = _healthy(self.config.checkpoint)
        self.loop = ClosedLoop(cortex, arm_config, nthread=self.config.nthread)
        self.brains = Brains(cortex, list(lesions))
        p = self.n_patients
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seeds = [int(seed) + i for i in range(p)]
        else:
            seeds = [int(x) for x in seed]
            if len(seeds) != p:
                raise ValueError(f"seed: expected an int or {p} seeds (one per patient), "
                                 f"got {len(seeds)}")
        self.seeds = seeds
        self.day = np.zeros(p, dtype=int)
        self.dose = np.zeros(p, dtype=int)
        self.fatigue = np.zeros(p)
        self.use = np.ones(p)
        self._rngs = [np.random.default_rng(x) for x in seeds]
        self._gens = [torch.Generator().manual_seed(x) for x in seeds]
        d = self.config.n_directions
        ang = 2 * np.pi * np.arange(d) / d
        self.unit = np.stack([np.cos(ang), np.sin(ang)], axis=1)
        self.baseline = np.zeros((p, d))
        self._dirty = True
        self._target_rate = self._healthy_rates()
        self.brains.state["target_rate"][:] = torch.as_tensor(self._target_rate)
        self._depress(slice(None))
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

    # ------------------------------------------------------------------ practice
    def practice(self, plans: list[SessionPlan]) -> list[dict]:
        """One session per patient; plasticity on. Every plan is checked before anything runs."""
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
        scores = self._plastic_reaches(sched, dist, assist, effort=1.0 - 0.5 * assist)
        self.dose += reps
        return [
            {"repetitions": int(reps[i]),
             "mean_reach_score": float(np.mean(s)) if len(s) else float("nan"),
             "fatigue": float(self.fatigue[i])}
            for i, s in enumerate(scores)
        ]

    def _plastic_reaches(self, sched: list[np.ndarray], dist: np.ndarray, assist: np.ndarray,
                         effort: np.ndarray) -> list[np.ndarray]:
        """Run scheduled reaches in blocks; after each block apply the reward rule."""
        cfg, pc = self.config, self.config.plasticity
        p, bs = self.n_patients, cfg.block_size
        n_max = max((len(s) for s in sched), default=0)
        out = [np.zeros(0) for _ in range(p)]
        n = self.brains.n
        for start in range(0, n_max, bs):
            r = min(bs, n_max - start)
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
            w = Weights(*(t[busy] for t in self.brains.weights()))
            res = self.loop.run(targets, cfg.duration, seed=[self._gens[i] for i in busy],
                                assist_gain=gain if gain.any() else None,
                                record_rates=pc.reward, weights=w, reaches=act_b.sum(1))
            score = reach_scores(res, cfg.score_window).reshape(q, r)
            # Learning uses the unclipped outcome, so even a patient who misses every target
            # gets a signal; the baseline is the block's mean outcome for the same direction.
            outcome = reach_scores(res, cfg.score_window, clip=False).reshape(q, r)
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
                self._reward_rule(res, adv, busy, act_b.sum(1), n)
            self.fatigue += active.sum(1) * cfg.fatigue_per_rep * effort
            self._dirty = True
        return out

    def _reward_rule(self, res: ReachResult, adv: np.ndarray, busy: np.ndarray,
                     counts: np.ndarray, n: int) -> None:
        """The reward rule after a block of reaches of the patients `busy`, each with
        `counts` real reaches (the first of its row of the block)."""
        pc, full = self.config.plasticity, self.brains.state
        r = adv.shape[1]
        reaches = torch.as_tensor(counts)
        s = {k: full[k][busy] for k in ("mag_rec", "mag_out", "alive", "connectivity",
                                         "corticospinal")}
        p = len(busy)
        t = res.rates.shape[1]
        rates = torch.from_numpy(res.rates).reshape(p, r, t, n)
        noise = torch.from_numpy(res.noise).reshape(p, r, t, -1)
        pre = torch.cat([torch.zeros_like(rates[:, :, :1]), rates[:, :, :-1]], dim=2)
        gain = (window_gain(self.day, pc) * np.clip(1.0 - self.fatigue, 0.0, 1.0))[busy]
        gain_t = torch.as_tensor(gain, dtype=torch.float32)
        a = torch.as_tensor(adv, dtype=torch.float32)
        alive = s["alive"]
        mask = s["connectivity"] * alive[:, :, None] * alive[:, None, :]
        out_mask = s["corticospinal"] * alive[:, None, :]
        # one product per patient: torch splits them over the loop's threads when there are
        # several patients, which changes no number
        with torch_threads(self.loop.threads if p > 1 else torch.get_num_threads()):
            s["mag_rec"] = reward_update(s["mag_rec"], self.brains.sign, mask, noise[..., :n],
                                         pre, a, pc.learning_rate * gain_t, pc.max_weight,
                                         reaches)
            s["mag_out"] = reward_update(s["mag_out"], None, out_mask, noise[..., n:], rates,
                                         a, pc.output_learning_rate * gain_t, pc.max_weight,
                                         reaches)
        full["mag_rec"][busy] = s["mag_rec"]
        full["mag_out"][busy] = s["mag_out"]

    # ------------------------------------------------------------------ rest
    def rest(self, days: int = 1) -> None:
        """Let `days` days pass: daily-life use, disuse, homeostasis, structural plasticity."""
        if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 0:
            raise ValueError(f"days: expected an integer >= 0, got {days!r}")
        cfg, pc = self.config, self.config.plasticity
        for _ in range(days):
            score = np.array([a.score for a in self.last])
            self.use = 1.0 / (1.0 + np.exp(-(score - cfg.use_threshold) / cfg.use_width))
            if pc.daily_life and cfg.daily_life_reps > 0:
                n_use = np.round(self.use * cfg.daily_life_reps).astype(int)
                sched = [rng.integers(0, cfg.n_directions, k)
                         for rng, k in zip(self._rngs, n_use)]
                dist = np.full(self.n_patients, cfg.distance)
                self._plastic_reaches(sched, dist, np.zeros(self.n_patients),
                                      effort=np.zeros(self.n_patients))
                decay = 1.0 - cfg.disuse_decay * (1.0 - self.use)
                self.brains.state["mag_out"] *= torch.as_tensor(decay, dtype=torch.float32)[
                    :, None, None]
            self._daily_rules()
            self.fatigue *= 1.0 - cfg.fatigue_recovery
            self.day += 1
            self._dirty = True
            self.assess()

    def _depress(self, rows: slice) -> None:
        """Day 0 of the patients in `rows`: the survivors' diaschisis (when the rule is on)."""
        pc, s = self.config.plasticity, self.brains.state
        if not pc.diaschisis or pc.diaschisis_depth == 0:
            return
        d = acute_depression(self.brains.healthy_rec, self.brains.excitatory, s["alive"][rows],
                             pc.diaschisis_depth, pc.diaschisis_cap)
        s["depression"][rows] = d
        s["mag_rec"][rows], s["mag_out"][rows] = scale_outputs(
            s["mag_rec"][rows], s["mag_out"][rows], 1.0 - d, pc.max_weight)

    def _daily_rules(self) -> None:
        pc, s = self.config.plasticity, self.brains.state
        if pc.diaschisis and bool(s["depression"].any()):
            s["depression"], lift = resolve(s["depression"], pc.diaschisis_tau_days)
            s["mag_rec"], s["mag_out"] = scale_outputs(s["mag_rec"], s["mag_out"], lift,
                                                       pc.max_weight)
        gain = torch.as_tensor(window_gain(self.day, pc), dtype=torch.float32)
        if pc.homeostasis:
            rate = torch.as_tensor(self._last_rates, dtype=torch.float32)
            s["mag_rec"] = homeostatic_scaling(
                s["mag_rec"], self.brains.excitatory, rate, s["target_rate"], s["alive"],
                pc.homeostasis_rate * gain, pc.homeostasis_max_step, pc.max_weight)
        if pc.structural:
            s["connectivity"], s["mag_rec"] = sprout(
                s["connectivity"], s["mag_rec"], s["alive"], self.brains.probability,
                s["distance_to_core"], pc.sprout_rate * gain, pc.peri_infarct_boost,
                pc.peri_infarct_length, pc.sprout_weight, self._gens)
            s["connectivity"], s["mag_rec"] = prune(
                s["connectivity"], s["mag_rec"], pc.prune_threshold, pc.prune_probability,
                self._gens)
        if pc.structural and pc.cst_sprout_rate > 0:
            s["mag_out"] = corticospinal_sprouting(
                s["mag_out"], s["corticospinal"], s["alive"], self.brains.reference_drive,
                pc.cst_sprout_rate * gain, pc.max_weight)
        if pc.structural and pc.axon_sprout_rate > 0:
            b = self.brains
            areas = [AREA_NAMES.index(a) for a in pc.axon_sprout_areas]
            sprouting = torch.isin(b.area, torch.as_tensor(areas)).float()
            lost = lost_targets(b.healthy_rec, s["alive"]) * sprouting[None]
            s["mag_out"] = axonal_sprouting(
                s["mag_out"], s["corticospinal"], s["alive"], lost, b.healthy_out,
                pc.axon_sprout_rate * gain, pc.axon_sprout_bound, pc.max_weight)

    # ------------------------------------------------------------------ assessment
    def assess(self) -> list[Assessment]:
        """The fixed battery for every patient (plasticity off, fixed noise seed).

        Deterministic for the brain: when nothing changed since the last battery, that one is
        returned without running again.
        """
        if not self._dirty:
            return self.last
        cfg = self.config
        p, d, k = self.n_patients, cfg.n_directions, cfg.assessment_repeats
        targets = self.loop.start + cfg.distance * np.tile(self.unit, (k, 1))
        res = self.loop.run(np.broadcast_to(targets, (p, d * k, 2)), cfg.duration,
                            seed=cfg.assessment_seed, record_rates=True,
                            weights=self.brains.weights())
        n = self.brains.n
        self._last_rates = res.rates.reshape(p, -1, n).mean(1)
        score = 100.0 * reach_scores(res, cfg.score_window).reshape(p, k, d)
        m = res.metrics()
        out = []
        for i in range(p):
            def per_dir(x, i=i):
                # mean over repeats of what exists: NaN where no repeat had it (no movement
                # has no movement time), without numpy's warning for an all-NaN mean
                x = np.asarray(x, float).reshape(p, k, d)[i]
                n = np.isfinite(x).sum(0)
                return np.where(n > 0, np.nansum(x, 0) / np.maximum(n, 1), np.nan)
            sl = slice(i * d * k, i * d * k + d)
            out.append(Assessment(
                day=int(self.day[i]), score=float(score[i].mean()), profile=score[i].mean(0),
                endpoint_error=per_dir(m.endpoint_error), path_ratio=per_dir(m.path_ratio),
                n_speed_peaks=per_dir(m.n_speed_peaks), movement_time=per_dir(m.movement_time),
                success=per_dir(m.success), hand_position=res.hand_position[sl],
                targets=res.target[sl], start=self.loop.start.copy(),
            ))
        self.last = out
        self._dirty = False
        return out

    def _healthy_rates(self) -> np.ndarray:
        """Mean rate of each neuron in the battery of the intact brain (homeostatic target)."""
        cfg = self.config
        healthy = Brains(self.brains.healthy, [None])
        targets = self.loop.start + cfg.distance * self.unit
        res = self.loop.run(targets[None], cfg.duration, seed=cfg.assessment_seed,
                            record_rates=True, weights=healthy.weights())
        return res.rates.reshape(-1, self.brains.n).mean(0)

    # ------------------------------------------------------------------ read-outs
    def biomarkers(self) -> list[dict[str, float]]:
        """What a lab could measure: rates and living fraction per area, synapses, outputs."""
        b = self.brains
        rates = self._last_rates
        area = b.area.numpy()
        out_m1, out_pm = b.output_strength(M1), b.output_strength(PM)
        syn = b.synapse_count()
        alive_m1, alive_pm = b.alive_fraction(M1), b.alive_fraction(PM)
        return [
            {"rate_m1": float(rates[i, area == M1].mean()),
             "rate_pm": float(rates[i, area == PM].mean()),
             "alive_m1": float(alive_m1[i]), "alive_pm": float(alive_pm[i]),
             "synapses": float(syn[i]), "output_m1": float(out_m1[i]),
             "output_pm": float(out_pm[i]), "daily_use": float(self.use[i])}
            for i in range(self.n_patients)
        ]

    # ------------------------------------------------------------------ replace / save
    def replace(self, index: int, lesion: Lesion | None, seed: int | None = None) -> None:
        """A new patient in slot `index` (used by vector environments on reset); `seed`
        restarts that slot's random streams (None: they go on), the others are untouched."""
        if not 0 <= index < self.n_patients:
            raise ValueError(f"index: allowed 0..{self.n_patients - 1}, got {index}")
        self.brains.replace(index, lesion)
        self.brains.state["target_rate"][index] = torch.as_tensor(self._target_rate)
        self._depress(slice(index, index + 1))
        self.day[index], self.dose[index], self.fatigue[index], self.use[index] = 0, 0, 0.0, 1.0
        self._dirty = True
        if seed is not None:
            self.seeds[index] = int(seed)
            self._rngs[index] = np.random.default_rng(int(seed))
            self._gens[index] = torch.Generator().manual_seed(int(seed))
        self.last = self.assess()
        self.baseline[index] = self.last[index].profile / 100.0

    def get_state(self) -> dict:
        """Everything that fixes the batch's future (weights, masks, clock, RNG states)."""
        return {
            "config": to_dict(self.config),
            "lesions": [None if les is None else asdict(les) for les in self.lesions],
            "brains": self.brains.get_state(),
            "day": self.day.copy(), "dose": self.dose.copy(), "fatigue": self.fatigue.copy(),
            "use": self.use.copy(), "baseline": self.baseline.copy(), "seeds": list(self.seeds),
            "rngs": [r.bit_generator.state for r in self._rngs],
            "gens": [g.get_state() for g in self._gens],
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

    def set_state(self, state: dict) -> None:
        self.brains.set_state(state["brains"])
        self.brains.lesions = [None if d is None else Lesion(**d) for d in state["lesions"]]
        for k in ("day", "dose", "fatigue", "use", "baseline"):
            setattr(self, k, np.array(state[k]).copy())
        self.seeds = list(state["seeds"])
        for rng, st in zip(self._rngs, state["rngs"]):
            rng.bit_generator.state = st
        for gen, st in zip(self._gens, state["gens"]):
            gen.set_state(st)
        self.last, self._last_rates = list(state["last"]), state["last_rates"].copy()
        self._dirty = state["dirty"]

    def __getstate__(self) -> dict:
        return self.get_state()

    def __setstate__(self, state: dict) -> None:
        obj = PatientBatch.from_state(state)
        self.__dict__.update(obj.__dict__)

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.get_state(), path)

    @classmethod
    def load(cls, path: str | Path) -> PatientBatch:
        if not Path(path).is_file():
            raise FileNotFoundError(f"patient file not found: {path}")
        return cls.from_state(torch.load(path, weights_only=False))


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

    def practice(self, plan: SessionPlan) -> dict:
        return self.batch.practice([plan])[0]

    def rest(self, days: int = 1) -> None:
        self.batch.rest(days)

    def assess(self) -> Assessment:
        return self.batch.assess()[0]

    def biomarkers(self) -> dict[str, float]:
        return self.batch.biomarkers()[0]

    def save(self, path: str | Path) -> None:
        self.batch.save(path)

    @classmethod
    def load(cls, path: str | Path) -> Patient:
        return cls(_batch=PatientBatch.load(path))


def sample_cohort(cohort: CohortConfig, n: int, seed: int) -> list[Lesion]:
    """`n` lesions drawn from `cohort`, reproducibly for `seed`."""
    rng = np.random.default_rng(seed)
    return [cohort.sample(rng) for _ in range(n)]
