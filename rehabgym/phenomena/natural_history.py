"""The natural history: the cohort followed without therapy, and the rows it answers.

Rows 1 (lesion size → deficit), 2 (spontaneous recovery), 3 (proportional recovery, on the
main cohort pooled with a mild-moderate one), 8 (smoothness) and 9 (vicarious compensation),
each beside its figure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from rehabgym.cortex.lesion import Lesion
from rehabgym.patient import PatientBatch
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.table import Row, curves, fmt_ci, rounded, spearman

Progress = Callable[[Iterable, str], Iterable]


@dataclass
class NaturalHistory:
    """Daily read-outs of a cohort without therapy ([days + 1, patients])."""

    score: np.ndarray
    peaks: np.ndarray  # speed peaks per reach, mean over the battery
    output_pm: np.ndarray  # premotor corticospinal output strength
    healthy_score: float
    healthy_peaks: float

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> NaturalHistory:
        return cls(data["score"], data["peaks"], data["output_pm"],
                   float(data["healthy_score"]), float(data["healthy_peaks"]))

    def pooled(self, other: NaturalHistory | None) -> NaturalHistory:
        """This cohort and `other` (same days) as one: this one's patients first."""
        if other is None:
            return self
        return NaturalHistory(*(np.concatenate([a, b], axis=1) for a, b in
                                ((self.score, other.score), (self.peaks, other.peaks),
                                 (self.output_pm, other.output_pm))),
                              self.healthy_score, self.healthy_peaks)


@dataclass
class Measures:
    """Per-patient lesion measures, outcomes, and the groups rows 3 and 8 look at."""

    radius: np.ndarray
    cs: np.ndarray  # corticospinal fraction cut
    impairment: np.ndarray  # 100 - day-0 score
    recovery_fraction: np.ndarray
    pm_growth: np.ndarray
    fit: np.ndarray  # mild-moderate: where proportional recovery should hold
    severe: np.ndarray  # severe corticospinal damage
    impaired: np.ndarray

    @classmethod
    def of(cls, lesions: list[Lesion], nat: NaturalHistory) -> Measures:
        radius = np.array([les.focal_radius for les in lesions])
        cs = np.array([les.corticospinal_fraction for les in lesions])
        s, pm = nat.score, nat.output_pm
        impairment = 100.0 - s[0]
        return cls(radius=radius, cs=cs, impairment=impairment,
                   recovery_fraction=np.where(impairment > 5, (s[-1] - s[0])
                                              / np.maximum(impairment, 1e-9), np.nan),
                   pm_growth=pm[-1] / np.maximum(pm[0], 1e-9) - 1.0,
                   fit=(impairment <= 60) & (cs < 0.25) & (impairment > 5),
                   severe=(cs >= 0.35) & (impairment > 40),
                   impaired=impairment > 10)


def natural_history(cfg: ValidateConfig, lesions: list[Lesion], progress: Progress,
                    seed: int | None = None, desc: str = "natural history") -> NaturalHistory:
    """The cohort with no therapy: scores, kinematics and biomarkers every day. Patient i is
    lesion i with noise seed `seed + i` (default `cfg.seed + i`, as in every other
    experiment on the main cohort)."""
    seed = cfg.seed if seed is None else seed
    batch = PatientBatch(lesions, cfg.patient, seed=seed)
    scores, peaks, pm = [], [], []

    def record():
        scores.append([a.score for a in batch.last])
        peaks.append([np.nanmean(a.n_speed_peaks) for a in batch.last])
        pm.append([b["output_pm"] for b in batch.biomarkers()])

    record()
    for _ in progress(range(cfg.days), desc):
        batch.rest(1)
        record()
    healthy = PatientBatch([None], cfg.patient, seed=seed).last[0]
    return NaturalHistory(np.array(scores), np.array(peaks), np.array(pm), healthy.score,
                          float(np.nanmean(healthy.n_speed_peaks)))


# ---------------------------------------------------------------- 1 lesion size -> deficit
def lesion_size(g: Measures, nat: NaturalHistory) -> Row:
    s0 = nat.score[0]
    r_rad, r_cs = spearman(g.radius, s0), spearman(g.cs, s0)
    r_cs_rec = spearman(g.cs, np.nan_to_num(g.recovery_fraction))
    return Row(1, "lesion size → deficit",
               f"ρ(radius, score)={r_rad:.2f}; ρ(CST cut, score)={r_cs:.2f}; "
               f"ρ(CST cut, recovery fraction)={r_cs_rec:.2f}",
               "ρ < 0 for size; CST damage predicts poor recovery (ρ < 0) (PREP2)",
               r_rad < -0.3 and r_cs_rec < 0,
               {"rho_radius": r_rad, "rho_cst": r_cs, "rho_cst_recovery": r_cs_rec})


def lesion_size_figure(g: Measures, nat: NaturalHistory) -> Figure:
    s, cs = nat.score, g.cs
    fig = Figure(figsize=(9, 3.6))
    ax = fig.subplots(1, 2)
    sc = ax[0].scatter(g.radius, s[0], c=cs, cmap="viridis", vmin=0, vmax=max(cs.max(), 1e-3))
    fig.colorbar(sc, ax=ax[0], label="corticospinal fibres cut")
    ax[0].set(xlabel="focal lesion radius (mm)", ylabel="day-0 motor score",
              title="1  lesion size → deficit")
    ax[1].scatter(cs, g.recovery_fraction)
    ax[1].set(xlabel="corticospinal fibres cut", ylabel="recovery fraction (day 0 → end)",
              title="CST damage → poor recovery")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 2 spontaneous recovery
def spontaneous_recovery(nat: NaturalHistory, days: int) -> Row:
    """Partial recovery without therapy, fastest early, then a plateau."""
    s = nat.score
    s0, sf = s[0], s[-1]
    recovered = sf - s0
    third = max(1, days // 3)
    early_rate = (s[min(10, days)] - s0) / min(10, days)
    late_rate = (s[-1] - s[-1 - third]) / third
    partial = sf < nat.healthy_score - 2
    return Row(2, "spontaneous recovery",
               f"gain {fmt_ci(recovered)} pts in {days} d; early {fmt_ci(early_rate, 2)} "
               f"pts/d vs last third {fmt_ci(late_rate, 2)} pts/d",
               "partial recovery without therapy, fastest early, then a plateau",
               bool(recovered.mean() > 0 and early_rate.mean() > 2 * max(late_rate.mean(), 0)
                    and partial.mean() > 0.5),
               {"gain": float(recovered.mean()), "early_rate": float(early_rate.mean()),
                "late_rate": float(late_rate.mean())})


def spontaneous_recovery_figure(nat: NaturalHistory) -> Figure:
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    curves(ax, nat.score)
    ax.axhline(nat.healthy_score, color="g", ls="--", label="healthy")
    ax.set(xlabel="days since stroke", ylabel="motor score", title="2  spontaneous recovery")
    ax.legend()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 3 proportional recovery
def proportional_recovery(g3: Measures, nat3: NaturalHistory, n_main: int) -> Row:
    """Recovery ≈ 0.7 × impairment for mild-moderate patients, on the pooled cohorts (the
    main cohort's `n_main` patients first); severe corticospinal damage breaks it."""
    impairment, fit, severe = g3.impairment, g3.fit, g3.severe
    rec3 = nat3.score[-1] - nat3.score[0]
    slope = (float((impairment[fit] * rec3[fit]).sum() / (impairment[fit] ** 2).sum())
             if fit.sum() >= 3 else float("nan"))
    resid = rec3[fit] - slope * impairment[fit]
    r2 = 1 - resid.var() / rec3[fit].var() if fit.sum() >= 3 else float("nan")
    sev_frac = float(np.nanmean(g3.recovery_fraction[severe])) if severe.any() else float("nan")
    fit_main = int(fit[:n_main].sum())
    return Row(3, "proportional recovery",
               f"slope {slope:.2f} (R²={r2:.2f}, n={fit.sum()}: {fit_main} of the cohort, "
               f"{fit.sum() - fit_main} of the mild–moderate one); severe-CST recovery "
               f"fraction {sev_frac:.2f} (n={severe.sum()})",
               "≈ 0.7 × initial impairment for mild–moderate; severe CST damage below "
               "(Prabhakaran 2008)",
               bool(0.5 <= slope <= 0.9 and (not severe.any() or sev_frac < slope)),
               {"slope": slope, "r2": r2, "n": int(fit.sum()), "n_main": fit_main,
                "severe_fraction": sev_frac,
                "patients": {"impairment": rounded(impairment), "recovery": rounded(rec3),
                             "corticospinal_cut": rounded(g3.cs),
                             "fit": fit.tolist(), "severe": severe.tolist()}})


def proportional_recovery_figure(g3: Measures, nat3: NaturalHistory, slope: float) -> Figure:
    s = nat3.score
    imp, rec = 100 - s[0], s[-1] - s[0]
    fit, severe = g3.fit, g3.severe
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    other = ~fit & ~severe
    ax.scatter(imp[fit], rec[fit], label="mild–moderate (fit)")
    ax.scatter(imp[severe], rec[severe], marker="x", color="r", label="severe CST damage")
    ax.scatter(imp[other], rec[other], color="0.6", s=12, label="other")
    x = np.array([0, 100])
    ax.plot(x, 0.7 * x, "k--", lw=1, label="0.7 × impairment")
    if np.isfinite(slope):
        ax.plot(x, slope * x, "b-", lw=1, label=f"fit: {slope:.2f} × impairment")
    ax.set(xlabel="initial impairment (100 − score)", ylabel="recovery without therapy",
           title="3  proportional recovery", xlim=(0, 100))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 8 smoothness
def smoothness(g: Measures, nat: NaturalHistory, days: int) -> Row:
    pk = nat.peaks
    impaired = g.impaired
    dpk = pk[-1] - pk[0]
    return Row(8, "smoothness",
               f"speed peaks: healthy {nat.healthy_peaks:.2f}, stroke day 0 "
               f"{fmt_ci(pk[0][impaired], 2)}, change by day {days} "
               f"{fmt_ci(dpk[impaired], 2)}",
               "stroke reaches fragmented; peaks fall with recovery (Rohrer 2002)",
               bool(impaired.any() and pk[0][impaired].mean() > nat.healthy_peaks
                    and dpk[impaired].mean() < 0),
               {"healthy": nat.healthy_peaks, "day0": float(pk[0][impaired].mean()),
                "change": float(dpk[impaired].mean())})


def smoothness_figure(g: Measures, nat: NaturalHistory) -> Figure:
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    curves(ax, nat.peaks[:, g.impaired], label="impaired patients")
    ax.axhline(nat.healthy_peaks, color="g", ls="--", label="healthy")
    ax.set(xlabel="days since stroke", ylabel="speed peaks per reach", title="8  smoothness")
    ax.legend()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 9 vicarious compensation
def vicarious_compensation(g: Measures) -> Row:
    growth, radius = g.pm_growth, g.radius
    rho9 = spearman(radius, growth)
    big = radius >= np.median(radius)
    return Row(9, "vicarious compensation",
               f"PM output growth {100 * growth[big].mean():+.0f} % (large lesions) vs "
               f"{100 * growth[~big].mean():+.0f} % (small); ρ(radius, growth)={rho9:.2f}",
               "PM output grows after large M1 lesions, more with bigger lesions "
               "(Frost 2003: +7–54 %)", bool(growth[big].mean() > 0 and rho9 > 0),
               {"growth_large": float(growth[big].mean()),
                "growth_small": float(growth[~big].mean()), "rho": rho9})


def vicarious_compensation_figure(g: Measures) -> Figure:
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    ax.scatter(g.radius, 100 * g.pm_growth)
    ax.axhspan(7, 54, color="g", alpha=0.12, label="Frost 2003: +7–54 %")
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="focal lesion radius (mm)", ylabel="premotor output growth (%)",
           title="9  vicarious compensation")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
