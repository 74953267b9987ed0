"""Center-out targets, the minimum-jerk reference path and the settings of a reach trial.

The classic center-out task (Georgopoulos et al. 1982): targets evenly spaced on a circle
around a central start position. Direction k points at angle 2πk/n, k = 0 along +x,
counter-clockwise (seen from above, like joint flexion). The reference path of a healthy reach
is minimum-jerk (Flash & Hogan 1985).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rehabgym.config import Count, NonNegative, OpenFraction, Positive, check_fields


@dataclass
class ReachConfig:
    """Every default of a reach trial and of its kinematic read-outs (SI units).

    A reach succeeds when, at the end of the trial, the hand lies within `success_tolerance`
    of the target and moves slower than `end_speed_threshold`. Movement onset and offset are
    where the hand's speed crosses `onset_fraction` × the trial's peak speed; a trial whose
    peak speed stays below `min_peak_speed` counts as "never moved". A local maximum of the
    speed profile counts as a speed peak when it rises above `peak_fraction` × peak speed and
    stands out from its surroundings by `peak_prominence` × peak speed (the topographic
    prominence), so sensor jitter on a smooth profile does not add peaks.
    """

    n_targets: Count = 8
    radius: Positive = 0.10  # m, start-to-target distance
    duration: Positive = 1.0  # s, trial length
    success_tolerance: Positive = 0.01  # m, endpoint error allowed
    end_speed_threshold: Positive = 0.03  # m/s, the hand must have stopped
    onset_fraction: OpenFraction = 0.05  # of peak speed: movement onset / offset threshold
    min_peak_speed: NonNegative = 0.02  # m/s, below it the hand never moved
    peak_fraction: OpenFraction = 0.10  # of peak speed: smaller local maxima are not peaks
    peak_prominence: OpenFraction = 0.05  # of peak speed: how far a peak must stand out

    def __post_init__(self) -> None:
        check_fields(self)


def direction_angles(n: int = 8) -> np.ndarray:
    """[n] angles (rad) of the n center-out directions: 2πk/n, k = 0 along +x, CCW."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: must be an integer >= 1, got {n!r}")
    return 2.0 * math.pi * np.arange(int(n)) / int(n)


def center_out_targets(center: np.ndarray, n: int = 8, radius: float = 0.10) -> np.ndarray:
    """[n, 2] target positions (m) on a circle of `radius` around `center` [2]."""
    c = np.asarray(center, dtype=float)
    if c.shape != (2,) or not np.all(np.isfinite(c)):
        raise ValueError(f"center: expected 2 finite numbers (x, y) in m, got {center!r}")
    if isinstance(radius, bool) or not np.isfinite(radius) or not radius > 0:
        raise ValueError(f"radius: must be a finite number > 0 (m), got {radius!r}")
    a = direction_angles(n)
    return c + radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def minimum_jerk(start: np.ndarray, target: np.ndarray, t: np.ndarray, onset: float,
                 duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-jerk positions and velocities [B, T, 2] from start [B, 2] to target [B, 2]."""
    s = np.clip((t - onset) / duration, 0.0, 1.0)[None, :, None]
    pos = start[:, None] + (target - start)[:, None] * (10 * s**3 - 15 * s**4 + 6 * s**5)
    ds = ((t >= onset) & (t <= onset + duration))[None, :, None] / duration
    vel = (target - start)[:, None] * (30 * s**2 - 60 * s**3 + 30 * s**4) * ds
    return pos, vel
