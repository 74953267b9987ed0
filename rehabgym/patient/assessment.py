"""The assessment battery: all directions, plasticity off, fixed noise -> a 0-100 motor score.

A reach scores 1 - (mean distance to the target in the score window) / target distance,
clipped to [0, 1]; the battery's per-direction profile and motor score are 100 × the mean
over its repeats (a Fugl-Meyer-like scale: healthy ≈ 100, no movement 0), with kinematics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rehabgym.cortex.brains import Brains
from rehabgym.patient.config import PatientConfig
from rehabgym.patient.plan import unit_vectors
from rehabgym.reaching.loop import ClosedLoop, ReachResult


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


def run_battery(loop: ClosedLoop, brains: Brains, config: PatientConfig, days: np.ndarray
                ) -> tuple[list[Assessment], np.ndarray]:
    """The battery for every brain of `brains`: one `Assessment` each (on `days[i]`), and
    each neuron's mean rate during it [P, N] (what homeostasis compares with its target)."""
    cfg = config
    p, d, k = brains.n_patients, cfg.n_directions, cfg.assessment_repeats
    targets = loop.start + cfg.distance * np.tile(unit_vectors(d), (k, 1))
    res = loop.run(np.broadcast_to(targets, (p, d * k, 2)), cfg.duration,
                   seed=cfg.assessment_seed, record_rates=True, weights=brains.weights(),
                   record_noise=False)
    rates = res.rates.reshape(p, -1, brains.n).mean(1)
    score = 100.0 * reach_scores(res, cfg.score_window).reshape(p, k, d)
    m = res.metrics()

    def per_dir(x: np.ndarray, i: int) -> np.ndarray:
        # mean over repeats of what exists: NaN where no repeat had it (no movement has no
        # movement time), without numpy's warning for an all-NaN mean
        x = np.asarray(x, float).reshape(p, k, d)[i]
        n = np.isfinite(x).sum(0)
        return np.where(n > 0, np.nansum(x, 0) / np.maximum(n, 1), np.nan)

    out = []
    for i in range(p):
        sl = slice(i * d * k, i * d * k + d)
        out.append(Assessment(
            day=int(days[i]), score=float(score[i].mean()), profile=score[i].mean(0),
            endpoint_error=per_dir(m.endpoint_error, i), path_ratio=per_dir(m.path_ratio, i),
            n_speed_peaks=per_dir(m.n_speed_peaks, i),
            movement_time=per_dir(m.movement_time, i), success=per_dir(m.success, i),
            hand_position=res.hand_position[sl], targets=res.target[sl],
            start=loop.start.copy(),
        ))
    return out, rates


def healthy_rates(loop: ClosedLoop, brains: Brains, config: PatientConfig) -> np.ndarray:
    """[N] mean rate of each neuron of the intact brain in one round of the battery (the
    homeostatic target)."""
    healthy = Brains(brains.healthy, [None])
    targets = loop.start + config.distance * unit_vectors(config.n_directions)
    res = loop.run(targets[None], config.duration, seed=config.assessment_seed,
                   record_rates=True, weights=healthy.weights(), record_noise=False)
    return res.rates.reshape(-1, brains.n).mean(0)
