"""Row 7, use it or lose it: the whole cohort gets the same early therapy, then none.

The change after therapy ends is compared between the patients who end it above and below
the daily-use threshold (Han et al. 2008).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from rehabgym.cortex.lesion import Lesion
from rehabgym.phenomena import margins as mg
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.natural_history import Progress
from rehabgym.phenomena.registry import NEEDS_THERAPY, register
from rehabgym.phenomena.table import Row, curves
from rehabgym.phenomena.therapy import ALL_DIRECTIONS, Arm, TherapyResult, therapy_experiment
from rehabgym.stats import mean_estimate


def threshold_experiment(cfg: ValidateConfig, lesions: list[Lesion], progress: Progress
                         ) -> TherapyResult:
    """The cohort's one arm: therapy on `cfg.threshold_therapy`, then `followup_days`."""
    arm = Arm("threshold", cfg.threshold_start, cfg.reps, ALL_DIRECTIONS)
    return therapy_experiment(cfg, lesions, progress, arms=[arm],
                              days=cfg.threshold_therapy[1] + cfg.followup_days)


def use_it_or_lose_it(cfg: ValidateConfig, ther_all: TherapyResult) -> Row:
    """After the same therapy, patients who end it above the use threshold keep improving and
    those below decline (each mean change's 95 % CI excluding 0; Han et al. 2008; Hidaka et
    al. 2012)."""
    thr = cfg.patient.use_threshold
    t_start, t_end = cfg.threshold_therapy
    ts7 = ther_all.score[:, 0]
    end_s, after = ts7[t_end], ts7[t_end + cfg.followup_days] - ts7[t_end]
    above, below = end_s >= thr, end_s < thr
    up, down = mean_estimate(after[above]), mean_estimate(after[below])
    return Row(7, "threshold / use it or lose it",
               f"change in the {cfg.followup_days} d after therapy (days {t_start}–{t_end}) "
               f"ends: ended above {thr:.0f} pts {up.text()} (n={up.n}), below {down.text()} "
               f"(n={down.n})",
               "above the threshold function keeps improving, below it declines (95 % CIs "
               "excluding 0) (Han 2008)", up.excludes_zero(+1) and down.excludes_zero(-1),
               {"above": up.value, "above_ci": [up.low, up.high], "below": down.value,
                "below_ci": [down.low, down.high], "n_above": up.n, "n_below": down.n},
               mg.weakest(mg.above(up), mg.below(down)))


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


register(7, "use_it_or_lose_it", "threshold", lambda cfg, d: use_it_or_lose_it(cfg, d.ther_all),
         lambda cfg, d, row: use_it_or_lose_it_figure(cfg, d.ther_all), tags=(NEEDS_THERAPY,))
