"""Figures of a trial (`matplotlib.figure.Figure`s, drawn without pyplot): recovery by arm,
the effects against the control (a forest plot), and the gain by baseline severity."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from rehabgym.evaluation.figures import mean_with_band

if TYPE_CHECKING:
    from rehabgym.trials.run import TrialResult


def recovery_figure(report: dict[str, Any]) -> Figure:
    """Mean motor score by therapy day per arm, with its 95 % CI as a band."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for name, curve in report["curves"].items():
        mean, low, high = (np.array([c[k] for c in curve]) for k in ("value", "low", "high"))
        mean_with_band(ax, mean, low, high, f"{name} (n {report['arms'][name]['patients']})")
    ax.set_xlabel("day of therapy")
    ax.set_ylabel("motor score (0–100)")
    ax.set_title(f"{report['name']}: recovery by arm (95 % CI)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def forest_figure(report: dict[str, Any]) -> Figure:
    """Each arm against the control: the adjusted difference of every outcome with its 95 %
    CI, one panel per outcome (the primary first)."""
    outcomes = [report["primary"], *report["secondary"]]
    fig = Figure(figsize=(3.0 * len(outcomes), 0.5 * len(report["arms"]) + 1.6))
    axes = np.atleast_1d(fig.subplots(1, len(outcomes), sharey=True))
    arms = [a for a in report["arms"] if a != report["control"]]
    for ax, outcome in zip(axes, outcomes):
        for y, name in enumerate(arms):
            e = report["comparisons"][outcome].get(name)
            if e is None or not math.isfinite(e["value"]):
                continue  # an arm without patients, or too few to compare
            if math.isfinite(e["low"]):
                ax.plot([e["low"], e["high"]], [y, y], color="C0")
            ax.plot(e["value"], y, "o", color="C0")
        ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
        ax.set_title(outcome + (" (primary)" if outcome == report["primary"] else ""),
                     fontsize=9)
        ax.set_xlabel(f"vs {report['control']}", fontsize=8)
    axes[0].set_yticks(range(len(arms)))
    axes[0].set_yticklabels(arms)
    axes[0].set_ylim(-0.7, len(arms) - 0.3)
    fig.suptitle(f"{report['name']}: adjusted differences (ANCOVA, 95 % CI)", fontsize=10)
    fig.tight_layout()
    return fig


def by_baseline_figure(result: TrialResult) -> Figure:
    """Each patient's gain against its score at the start of therapy, by arm, with the arm's
    least-squares line: who gains from which therapy."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    names = result.arm_names
    gain = result.outcome("gain")
    for k, name in enumerate(result.config.arm_names):
        sel = names == name
        x, y = result.baseline[sel], gain[sel]
        ax.scatter(x, y, s=8, alpha=0.5, color=f"C{k}", label=name)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() > 2 and np.ptp(x[ok]) > 0:
            slope, icept = np.polyfit(x[ok], y[ok], 1)
            xs = np.linspace(x[ok].min(), x[ok].max(), 20)
            ax.plot(xs, icept + slope * xs, color=f"C{k}")
    ax.axhline(result.config.mcid, color="0.5", lw=0.8, ls="--", label="responder (MCID)")
    ax.set_xlabel("motor score at the start of therapy")
    ax.set_ylabel("gain over the trial (points)")
    ax.set_title(f"{result.config.name}: gain by baseline severity")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
