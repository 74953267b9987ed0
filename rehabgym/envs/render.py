"""The picture of a patient in a ward: the last assessment's hand paths and the score curve.

Drawn on a `matplotlib.figure.Figure` with an Agg canvas (no display, no pyplot state), so
`render_mode="rgb_array"` works headless and leaves the user's backend alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rehabgym.envs.ward import TherapyWard

FIGSIZE = (9.0, 4.0)


def draw_patient(fig: Any, ward: TherapyWard, slot: int) -> None:
    """The patient now on `fig`: hand paths of the last assessment, and the score curve."""
    a = ward.assessment[slot]
    info = ward.info(slot)
    ax_xy, ax_s = fig.subplots(1, 2, width_ratios=(1, 1.3))
    start = np.asarray(a.start, dtype=float)
    paths = 100 * (np.asarray(a.hand_position, dtype=float) - start)
    targets = 100 * (np.asarray(a.targets, dtype=float) - start)
    for k in range(paths.shape[0]):
        colour = f"C{k}"
        ax_xy.plot(paths[k, :, 0], paths[k, :, 1], color=colour, lw=1.3)
        ax_xy.plot(*targets[k], "o", mfc="none", color=colour, ms=9)
        ax_xy.annotate(f"{a.profile[k]:.0f}", targets[k] * 1.2, ha="center", va="center",
                       fontsize=7, color=colour)
    ax_xy.plot(0, 0, "k+", ms=9)
    lim = 1.45 * max(np.abs(targets).max(), 1.0)
    ax_xy.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="x (cm)",
              ylabel="y (cm)", title=f"assessment, day {info['day']} after stroke")
    days = ward.cfg.start_day + np.arange(len(ward.history[slot]))
    ax_s.plot(days, ward.history[slot], "k.-")
    ax_s.set(xlim=(ward.cfg.start_day - 0.5, ward.cfg.start_day + ward.cfg.horizon_days + 0.5),
             ylim=(0, 100), xlabel="day after stroke", ylabel="motor score (0-100)",
             title=f"score {info['score']:.1f}, dose {info['dose']} reps")
    for ax in (ax_xy, ax_s):
        ax.grid(alpha=0.3)
    fig.tight_layout()


def render_rgb(ward: TherapyWard, slot: int) -> np.ndarray:
    """`draw_patient` as an H×W×3 uint8 array (matplotlib Agg, no display, no pyplot state)."""
    fig = Figure(figsize=FIGSIZE, dpi=80)
    canvas = FigureCanvasAgg(fig)
    draw_patient(fig, ward, slot)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
