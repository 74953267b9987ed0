"""Kinematic read-outs of a batch of reaches: endpoint error, success, time, path, smoothness.

The definitions (thresholds live in `ReachConfig`):

- endpoint_error: distance (m) from hand to target at the last sample of the trial.
- success: endpoint_error <= success_tolerance and end speed <= end_speed_threshold.
- movement_time: offset − onset (s). Onset is the first sample whose speed exceeds
  onset_fraction × peak speed; offset is the sample after the last one above it (the end of
  the trial when the hand is still moving). NaN when the hand never moved (peak speed below
  min_peak_speed).
- path_ratio: hand path length from onset to the end of the trial divided by the straight
  start → target distance (1 = straight; stopping short gives < 1). NaN when never moved.
- n_speed_peaks: local maxima of the speed profile above peak_fraction × peak speed whose
  topographic prominence (height above the higher of the two lowest points separating it from
  a higher sample on each side, or from the trial's ends) is at least
  peak_prominence × peak speed. Fragmented reaches have several (Rohrer et al. 2002).
- peak_speed: maximum hand speed (m/s).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from rehabgym.reaching.targets import ReachConfig


@dataclass
class ReachMetrics:
    """Per-reach kinematics, numpy arrays of shape [B] (see the module docstring)."""

    endpoint_error: np.ndarray  # m
    success: np.ndarray  # bool
    movement_time: np.ndarray  # s, NaN if never moved
    path_ratio: np.ndarray  # path length / straight distance, NaN if never moved
    n_speed_peaks: np.ndarray  # int
    peak_speed: np.ndarray  # m/s

    def summary(self) -> dict[str, float]:
        """Batch means as plain floats (NaNs, i.e. reaches that never moved, are skipped)."""
        out: dict[str, float] = {"success_rate": float(np.mean(self.success))}
        for f in fields(self):
            if f.name == "success":
                continue
            v = np.asarray(getattr(self, f.name), dtype=float)
            out[f.name] = float(np.nanmean(v)) if np.any(np.isfinite(v)) else float("nan")
        return out

    def rows(self) -> list[dict[str, float]]:
        """One plain dict per reach (for CSV tables)."""
        names = [f.name for f in fields(self)]
        cols = [np.asarray(getattr(self, n)) for n in names]
        return [{n: c[i].item() for n, c in zip(names, cols)} for i in range(len(cols[0]))]


def _check(name: str, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.shape != shape or not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: expected finite array of shape {shape}, got {a.shape}")
    return a


def count_speed_peaks(speed: np.ndarray, height: np.ndarray, prominence: np.ndarray) -> np.ndarray:
    """[B] number of local maxima of `speed` [B, T] above `height` [B] with `prominence` [B]."""
    b, t = speed.shape
    counts = np.zeros(b, dtype=int)
    if t < 3:
        return counts
    s = speed
    # Candidates: strictly higher than the left neighbour, not lower than the right one.
    cand = (s[:, 1:-1] > s[:, :-2]) & (s[:, 1:-1] >= s[:, 2:]) & (s[:, 1:-1] > height[:, None])
    for i, j in zip(*np.nonzero(cand)):
        row, k = s[i], j + 1
        h = row[k]
        left_higher = np.nonzero(row[:k] > h)[0]
        lo = left_higher[-1] + 1 if left_higher.size else 0
        right_higher = np.nonzero(row[k + 1:] > h)[0]
        hi = k + 1 + right_higher[0] if right_higher.size else t
        base = max(row[lo:k + 1].min(), row[k:hi].min())
        if h - base >= prominence[i]:
            counts[i] += 1
    return counts


def reach_metrics(
    hand_pos: np.ndarray,
    hand_vel: np.ndarray,
    start: np.ndarray,
    target: np.ndarray,
    dt: float,
    config: ReachConfig | None = None,
) -> ReachMetrics:
    """Kinematic metrics of B reaches sampled every `dt` seconds.

    Args:
        hand_pos: [B, T, 2] hand positions (m).
        hand_vel: [B, T, 2] hand velocities (m/s).
        start: [B, 2] start positions (m).
        target: [B, 2] target positions (m).
        dt: sample period (s).
        config: thresholds (`ReachConfig` defaults when None).
    """
    cfg = config or ReachConfig()
    pos = np.asarray(hand_pos, dtype=float)
    if pos.ndim != 3 or pos.shape[2] != 2 or pos.shape[0] < 1 or pos.shape[1] < 1:
        raise ValueError(f"hand_pos: expected shape (B, T, 2) with B, T >= 1, got {pos.shape}")
    b, t, _ = pos.shape
    pos = _check("hand_pos", pos, (b, t, 2))
    vel = _check("hand_vel", hand_vel, (b, t, 2))
    start = _check("start", start, (b, 2))
    target = _check("target", target, (b, 2))
    if isinstance(dt, bool) or not np.isfinite(dt) or not dt > 0:
        raise ValueError(f"dt: must be a finite number > 0 (s), got {dt!r}")

    speed = np.linalg.norm(vel, axis=2)  # [B, T]
    peak = speed.max(axis=1)
    moved = peak >= cfg.min_peak_speed
    above = speed > (cfg.onset_fraction * peak)[:, None]
    onset = np.argmax(above, axis=1)
    offset = t - np.argmax(above[:, ::-1], axis=1)  # one past the last sample above
    movement_time = np.where(moved, (offset - onset) * dt, np.nan)

    steps = np.linalg.norm(np.diff(pos, axis=1), axis=2)  # [B, T-1], step k: sample k -> k+1
    after_onset = np.arange(t - 1)[None, :] >= onset[:, None]
    path = (steps * after_onset).sum(axis=1)
    straight = np.linalg.norm(target - start, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        path_ratio = np.where(moved & (straight > 0), path / straight, np.nan)

    endpoint_error = np.linalg.norm(pos[:, -1] - target, axis=1)
    success = (endpoint_error <= cfg.success_tolerance) & (speed[:, -1] <= cfg.end_speed_threshold)
    peaks = count_speed_peaks(speed, cfg.peak_fraction * peak, cfg.peak_prominence * peak)
    peaks = np.where(moved, peaks, 0)
    return ReachMetrics(
        endpoint_error=endpoint_error,
        success=success,
        movement_time=movement_time,
        path_ratio=path_ratio,
        n_speed_peaks=peaks,
        peak_speed=peak,
    )
