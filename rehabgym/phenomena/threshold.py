"""Row 7, use it or lose it: the whole cohort gets the same early therapy, then none.

The change after therapy ends is compared between the patients who end it above and below
the daily-use threshold (Han et al. 2008).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from rehabgym.cortex.lesion import Lesion
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.natural_history import Progress
from rehabgym.phenomena.table import Row, curves, fmt_ci
from rehabgym.phenomena.therapy import ALL_DIRECTIONS, Arm, TherapyResult, therapy_experiment


def threshold_experiment(cfg: ValidateConfig, lesions: list[Lesion], progress: Progress
                         ) -> TherapyResult:
    """The cohort's one arm: therapy on `cfg.threshold_therapy`, then `followup_days`."""
    arm = Arm("threshold", cfg.threshold_start, cfg.reps, ALL_DIRECTIONS)
    return therapy_experiment(cfg, lesions, progress, arms=[arm],
                              days=cfg.threshold_therapy[1] + cfg.followup_days)


def use_it_or_lose_it(cfg: ValidateConfig, ther_all: TherapyResult) -> Row:
    thr = cfg.patient.use_threshold
    t_start, t_end = cfg.threshold_therapy
    ts7 = ther_all.score[:, 0]
    end_s, after = ts7[t_end], ts7[t_end + cfg.followup_days] - ts7[t_end]
    above, below = end_s >= thr, end_s < thr
    up = float(after[above].mean()) if above.any() else float("nan")
    down = float(after[below].mean()) if below.any() else float("nan")
    return Row(7, "threshold / use it or lose it",
               f"change in the {cfg.followup_days} d after therapy (days "
               f"{t_start}–{t_end}) ends: ended above "
               f"{thr:.0f} pts {fmt_ci(after[above])} (n={above.sum()}), below "
               f"{fmt_ci(after[below])} (n={below.sum()})",
               "above a threshold function keeps improving; below it declines (Han 2008)",
               bool(above.any() and below.any() and up > 0 and down < 0),
               {"above": up, "below": down, "n_above": int(above.sum()),
                "n_below": int(below.sum())})


def use_it_or_lose_it_figure(cfg: ValidateConfig, ther_all: TherapyResult) -> Figure:
    therapy, threshold = cfg.threshold_therapy, cfg.patient.use_threshold
    s = ther_all.score[:, 0]
    above = s[therapy[1]] >= threshold
    fig = Figure(figsize=(6, 3.6))
    ax = fig.subplots()
    if above.any():
        curves(ax, s[:, above], "C2", f"ended therapy above {threshold:.0f} (n={above.sum()})")
    if (~above).any():
        curves(ax, s[:, ~above], "C3", f"below (n={(~above).sum()})")
    ax.axvspan(*therapy, color="0.5", alpha=0.12)
    ax.axhline(threshold, color="0.5", ls="--", lw=1)
    ax.set(xlabel="days since stroke", ylabel="motor score",
           title="7  use it or lose it (shaded: therapy)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
