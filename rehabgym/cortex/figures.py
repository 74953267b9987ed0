"""Pictures of the cortex: the sheet's areas, cell types, wiring and what a lesion left.

Figures are `matplotlib.figure.Figure`s, drawn without pyplot: the user's backend is untouched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rehabgym.atomic import atomic_path
from rehabgym.cortex.sheet import PM, Sheet


def plot_sheet(sheet: Sheet, connectivity: np.ndarray | None = None,
               alive: np.ndarray | None = None, output: np.ndarray | None = None,
               path: str | Path | None = None, title: str = "cortical sheet") -> Figure:
    """The sheet: M1 / PM areas, E (triangles) and I (circles) neurons, a sample of synapses.

    `alive` [N] greys out dead neurons; `output` [N] (corticospinal strength per neuron) sets
    marker size, so a map after recovery shows where the output now comes from.
    """
    cfg = sheet.config
    conn = sheet.connectivity if connectivity is None else np.asarray(connectivity) > 0
    alive = np.ones(sheet.n, bool) if alive is None else np.asarray(alive) > 0
    fig = Figure(figsize=(7, 4.8))
    ax = fig.subplots()
    x_pm = (1 - cfg.premotor_fraction) * cfg.width
    ax.axvspan(0, x_pm, color="#f2e6d9", zorder=0)
    ax.axvspan(x_pm, cfg.width, color="#e0ecf4", zorder=0)
    ax.text(x_pm / 2, cfg.height * 1.02, "M1 (strong corticospinal output)", ha="center")
    ax.text((x_pm + cfg.width) / 2, cfg.height * 1.02, "PM (weak output)", ha="center")
    rng = np.random.default_rng(0)
    post, pre = np.nonzero(conn)
    keep = rng.permutation(len(post))[:400]
    pos = sheet.positions
    for i, j in zip(post[keep], pre[keep]):
        ax.plot(*zip(pos[j], pos[i]), color="0.6", lw=0.3, alpha=0.5, zorder=1)
    size = 18.0 if output is None else 8 + 200 * np.asarray(output) / max(np.max(output), 1e-9)
    size = np.broadcast_to(size, (sheet.n,))
    for exc, marker, color in ((True, "^", "#d62728"), (False, "o", "#1f77b4")):
        sel = (sheet.excitatory == exc) & alive
        ax.scatter(*pos[sel].T, s=size[sel], marker=marker, c=color, zorder=2,
                   label=("excitatory" if exc else "inhibitory"))
    if (~alive).any():
        ax.scatter(*pos[~alive].T, s=14, marker="x", c="k", zorder=3, label="dead")
    ax.set(xlim=(0, cfg.width), ylim=(0, cfg.height * 1.08), aspect="equal", xlabel="mm",
           ylabel="mm", title=f"{title}: {sheet.n} neurons, {int(conn.sum())} synapses, "
                              f"{int((sheet.area == PM).sum())} in PM")
    ax.legend(loc="lower left", fontsize=7, framealpha=0.9)
    fig.tight_layout()
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
    return fig
