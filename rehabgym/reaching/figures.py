"""Figures of reaches (`matplotlib.figure.Figure`s drawn without pyplot: no display needed,
and the user's backend is untouched)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from rehabgym.atomic import atomic_path


def plot_center_out(
    hand_pos: np.ndarray,
    targets: np.ndarray,
    start: np.ndarray,
    dt: float,
    path: str | Path | None = None,
    title: str = "",
    tolerance: float = 0.01,
) -> Figure:
    """The classic center-out figure.

    Left: top-down hand paths (cm, relative to the start, equal aspect) with target circles of
    radius `tolerance` (m). Right: hand speed profiles against time. Colours follow the
    direction of each reach's target. Saves a PNG at `path` when given.

    Args:
        hand_pos: [B, T, 2] hand positions (m).
        targets: [B, 2] target positions (m).
        start: [2] start position (m).
        dt: sample period (s).
    """
    pos = np.asarray(hand_pos, dtype=float)
    tgt = np.asarray(targets, dtype=float)
    c = np.asarray(start, dtype=float)
    if pos.ndim != 3 or pos.shape[2] != 2 or pos.shape[1] < 2:
        raise ValueError(f"hand_pos: expected shape (B, T >= 2, 2), got {pos.shape}")
    if tgt.shape != (pos.shape[0], 2):
        raise ValueError(f"targets: expected shape ({pos.shape[0]}, 2), got {tgt.shape}")
    if c.shape != (2,):
        raise ValueError(f"start: expected shape (2,), got {c.shape}")
    if not dt > 0:
        raise ValueError(f"dt: must be > 0 (s), got {dt!r}")
    rel, trel = 100 * (pos - c), 100 * (tgt - c)
    angle = np.arctan2(trel[:, 1], trel[:, 0]) % (2 * np.pi)
    colours = matplotlib.colormaps["hsv"](angle / (2 * np.pi))
    speed = 100 * np.linalg.norm(np.gradient(pos, dt, axis=1), axis=2)
    t = np.arange(pos.shape[1]) * dt

    fig = Figure(figsize=(10, 4.6))
    ax_xy, ax_v = fig.subplots(1, 2, width_ratios=(1, 1.25))
    for i in range(pos.shape[0]):
        ax_xy.add_patch(Circle(tuple(trel[i]), 100 * tolerance, fill=False, lw=1.2,
                                   color=colours[i]))
        ax_xy.plot(rel[i, :, 0], rel[i, :, 1], color=colours[i], lw=1.5)
        ax_v.plot(t, speed[i], color=colours[i], lw=1.2)
    ax_xy.plot(0, 0, "k+", ms=10)
    ax_xy.set_aspect("equal")
    lim = 1.25 * max(np.abs(trel).max(), np.abs(rel).max(), 1.0)
    ax_xy.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="x (cm)", ylabel="y (cm)",
              title="hand paths (top view)")
    ax_v.set(xlabel="time (s)", ylabel="hand speed (cm/s)", title="speed profiles",
             xlim=(0, t[-1]))
    ax_v.set_ylim(bottom=0)
    for ax in (ax_xy, ax_v):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
    return fig
