"""Figures of the phenomena table: one per row (1-9) and an overview, from `validate`'s data.

Each function takes the experiments' arrays (natural history `nat`, therapy arms `ther`, the
whole cohort's early therapy `ther_all`) or the per-patient measures of `validate._groups`,
and returns a matplotlib figure; `validate._figures` saves them as PNG and logs them to
TensorBoard.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def _curves(ax, s: np.ndarray, color: str = "k", label: str | None = None) -> None:
    """Each patient thin, the mean thick ([days, patients])."""
    ax.plot(s, color=color, lw=0.6, alpha=0.35)
    ax.plot(s.mean(1), color=color, lw=2.2, label=label)


def row1(radius: np.ndarray, cs: np.ndarray, frac: np.ndarray, nat: dict) -> Figure:
    s = nat["score"]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    sc = ax[0].scatter(radius, s[0], c=cs, cmap="viridis", vmin=0, vmax=max(cs.max(), 1e-3))
    fig.colorbar(sc, ax=ax[0], label="corticospinal fibres cut")
    ax[0].set(xlabel="focal lesion radius (mm)", ylabel="day-0 motor score",
              title="1  lesion size → deficit")
    ax[1].scatter(cs, frac)
    ax[1].set(xlabel="corticospinal fibres cut", ylabel="recovery fraction (day 0 → end)",
              title="CST damage → poor recovery")
    fig.tight_layout()
    return fig


def row2(nat: dict) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    _curves(ax, nat["score"])
    ax.axhline(nat["healthy_score"], color="g", ls="--", label="healthy")
    ax.set(xlabel="days since stroke", ylabel="motor score", title="2  spontaneous recovery")
    ax.legend()
    fig.tight_layout()
    return fig


def row3(nat: dict, row_values: dict, fit: np.ndarray, severe: np.ndarray) -> Figure:
    s = nat["score"]
    imp, rec = 100 - s[0], s[-1] - s[0]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    other = ~fit & ~severe
    ax.scatter(imp[fit], rec[fit], label="mild–moderate (fit)")
    ax.scatter(imp[severe], rec[severe], marker="x", color="r", label="severe CST damage")
    ax.scatter(imp[other], rec[other], color="0.6", s=12, label="other")
    x = np.array([0, 100])
    ax.plot(x, 0.7 * x, "k--", lw=1, label="0.7 × impairment")
    if np.isfinite(row_values["slope"]):
        ax.plot(x, row_values["slope"] * x, "b-", lw=1,
                label=f"fit: {row_values['slope']:.2f} × impairment")
    ax.set(xlabel="initial impairment (100 − score)", ylabel="recovery without therapy",
           title="3  proportional recovery", xlim=(0, 100))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _arm(ther: dict, name: str) -> np.ndarray:
    return ther["score"][:, ther["arms"].index(name)]


def row4(ther: dict, early: tuple[int, int], late: tuple[int, int]) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ctrl = _arm(ther, "control")
    for name, color in (("control", "k"), ("early", "C0"), ("late", "C1")):
        ax.plot((_arm(ther, name) - ctrl).mean(1), color=color, lw=2, label=name)
    ax.axvspan(*early, color="C0", alpha=0.12)
    ax.axvspan(*late, color="C1", alpha=0.12)
    ax.set(xlabel="days since stroke", ylabel="score − control (mean)",
           title="4  early beats late (shaded: therapy)")
    ax.legend()
    fig.tight_layout()
    return fig


def row5(row_values: dict) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(row_values["doses"], row_values["gains"], "o-")
    ax.set(xlabel="repetitions per day", ylabel="gain over control (points)",
           title="5  dose–response")
    fig.tight_layout()
    return fig


def row6(row_values: dict) -> Figure:
    by = row_values["by_angle"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.bar([str(a) + "°" for a in by], list(by.values()))
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="angle from the trained direction", ylabel="gain over control (points)",
           title="6  specificity & generalisation")
    fig.tight_layout()
    return fig


def row7(ther_all: dict, therapy: tuple[int, int], threshold: float) -> Figure:
    s = ther_all["score"][:, 0]
    above = s[therapy[1]] >= threshold
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if above.any():
        _curves(ax, s[:, above], "C2", f"ended therapy above {threshold:.0f} (n={above.sum()})")
    if (~above).any():
        _curves(ax, s[:, ~above], "C3", f"below (n={(~above).sum()})")
    ax.axvspan(*therapy, color="0.5", alpha=0.12)
    ax.axhline(threshold, color="0.5", ls="--", lw=1)
    ax.set(xlabel="days since stroke", ylabel="motor score",
           title="7  use it or lose it (shaded: therapy)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def row8(nat: dict, impaired: np.ndarray) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    _curves(ax, nat["peaks"][:, impaired], label="impaired patients")
    ax.axhline(nat["healthy_peaks"], color="g", ls="--", label="healthy")
    ax.set(xlabel="days since stroke", ylabel="speed peaks per reach", title="8  smoothness")
    ax.legend()
    fig.tight_layout()
    return fig


def row9(radius: np.ndarray, growth: np.ndarray) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.scatter(radius, 100 * growth)
    ax.axhspan(7, 54, color="g", alpha=0.12, label="Frost 2003: +7–54 %")
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="focal lesion radius (mm)", ylabel="premotor output growth (%)",
           title="9  vicarious compensation")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def overview(nat: dict, ther: dict, nat3: dict) -> Figure:
    """Three panels for the README: recovery curves, proportional recovery (on `nat3`, row
    3's pooled cohorts), schedules."""
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    s = nat["score"]
    _curves(ax[0], s)
    ax[0].set(xlabel="days since stroke", ylabel="motor score", title="spontaneous recovery")
    s3 = nat3["score"]
    ax[1].scatter(100 - s3[0], s3[-1] - s3[0])
    ax[1].plot([0, 100], [0, 70], "r--", label="0.7 × impairment")
    ax[1].set(xlabel="initial impairment", ylabel="recovery", title="proportional recovery")
    ax[1].legend()
    for i, name in enumerate(ther["arms"]):
        ax[2].plot(ther["score"][:, i].mean(1), label=name)
    ax[2].set(xlabel="days since stroke", ylabel="motor score", title="therapy schedules")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    return fig
