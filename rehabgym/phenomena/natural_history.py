"""The natural history: the cohort followed without therapy, and the rows it answers.

Rows 1 (lesion size → deficit), 2 (spontaneous recovery), 3 (proportional recovery), 8
(smoothness) and 9 (vicarious compensation), each beside its figure; each tests its effect with
a 95 % confidence interval at α = 0.05.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from rehabgym.cortex.lesion import Lesion
from rehabgym.patient import PatientBatch
from rehabgym.phenomena import margins as mg
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.registry import NATURAL_HISTORY, register
from rehabgym.phenomena.table import Row, curves, rounded
from rehabgym.stats import (
    ALPHA,
    mean_estimate,
    ratio_estimate,
    slope_through_origin,
    spearman_estimate,
)

Progress = Callable[[Iterable, str], Iterable]


@dataclass
class NaturalHistory:
    """Daily read-outs of a cohort without therapy ([days + 1, patients])."""

    score: np.ndarray
    peaks: np.ndarray  # speed peaks per reach, mean over the battery
    output_pm: np.ndarray  # premotor corticospinal output strength
    healthy_score: float
    healthy_peaks: float
    alive_m1: np.ndarray  # [patients] living fraction of M1 after the stroke
    #: [2, pairs] day-0 scores of row 1's site pairs: premotor lesions, then M1 lesions
    site_score: np.ndarray

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> NaturalHistory:
        return cls(data["score"], data["peaks"], data["output_pm"],
                   float(data["healthy_score"]), float(data["healthy_peaks"]), data["alive_m1"],
                   data["site_score"])


@dataclass
class Measures:
    """Per-patient lesion measures, outcomes, and the groups rows 3 and 8 look at."""

    radius: np.ndarray
    cs: np.ndarray  # corticospinal fraction cut
    impairment: np.ndarray  # 100 - day-0 score
    recovery_fraction: np.ndarray
    pm_growth: np.ndarray
    m1_damage: np.ndarray  # fraction of M1 the lesion killed
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
                   m1_damage=1.0 - nat.alive_m1,
                   fit=(impairment <= 60) & (cs < 0.25) & (impairment > 5),
                   severe=(cs >= 0.35) & (impairment > 40),
                   impaired=impairment > 10)


def site_lesions(cfg: ValidateConfig, sheet_width: float = 3.0, sheet_height: float = 2.0,
                 m1_fraction: float = 2.0 / 3.0) -> list[Lesion]:
    """Row 1's site pairs: each a focal lesion in the middle of premotor cortex, then its twin
    of the same radius, height and penumbra in the middle of M1 (premotor lesions first, M1
    lesions after). Nothing else is damaged (no diffuse loss, no corticospinal cut), so the
    pair differs only in where the lesion is; reproducible for the seed."""
    rng = np.random.default_rng([cfg.seed, 1])
    radius = rng.uniform(*cfg.site_radius, cfg.site_pairs)
    height = rng.uniform(0.3, 0.7, cfg.site_pairs) * sheet_height
    m1_x, pm_x = sheet_width * m1_fraction / 2, sheet_width * (1 + m1_fraction) / 2
    return [Lesion(focal_center=(x, float(y)), focal_radius=float(r),
                   penumbra_width=cfg.site_penumbra, seed=k)
            for x in (pm_x, m1_x) for k, (r, y) in enumerate(zip(radius, height))]


def natural_history(cfg: ValidateConfig, lesions: list[Lesion], progress: Progress,
                    seed: int | None = None, desc: str = "natural history") -> NaturalHistory:
    """The cohort with no therapy: scores, kinematics and biomarkers every day, and row 1's
    site pairs on day 0. Patient i is lesion i with noise seed `seed + i` (default `cfg.seed +
    i`, as in every other experiment on the main cohort); site pair k shares seed `seed + k`."""
    seed = cfg.seed if seed is None else seed
    batch = PatientBatch(lesions, cfg.patient, seed=seed)
    scores, peaks, pm = [], [], []

    def record():
        scores.append([a.score for a in batch.last])
        peaks.append([np.nanmean(a.n_speed_peaks) for a in batch.last])
        pm.append([b.output_pm for b in batch.biomarkers()])

    record()
    alive_m1 = np.array([b.alive_m1 for b in batch.biomarkers()])
    for _ in progress(range(cfg.days), desc):
        batch.rest(1)
        record()
    healthy = PatientBatch([None], cfg.patient, seed=seed).last[0]
    pairs = [seed + k for k in range(cfg.site_pairs)]  # a pair shares its noise streams
    site = PatientBatch(site_lesions(cfg), cfg.patient, seed=pairs + pairs)
    site_score = np.array([a.score for a in site.last]).reshape(2, cfg.site_pairs)
    return NaturalHistory(np.array(scores), np.array(peaks), np.array(pm), healthy.score,
                          float(np.nanmean(healthy.n_speed_peaks)), alive_m1, site_score)


# ---------------------------------------------------------------- 1 lesion size -> deficit
def lesion_size(g: Measures, nat: NaturalHistory) -> Row:
    """Bigger lesions, lower day-0 scores (Spearman, p < 0.05); corticospinal damage predicts
    poor recovery (p < 0.05), more strongly than lesion size does (Stinear et al. 2012, 2017:
    corticospinal integrity is the strongest predictor of upper-limb outcome); and where the
    lesion is matters: a premotor-only lesion costs less on day 0 than an M1 lesion of the
    same size (the paired ratio of deficits, CI below 1; Stinear et al. 2007; Zhu et al. 2010;
    monkeys without premotor cortex still reach, Halsband & Passingham 1985)."""
    s0 = nat.score[0]
    size = spearman_estimate(g.radius, s0)
    cst = spearman_estimate(g.cs, g.recovery_fraction)
    size_rec = spearman_estimate(g.radius, g.recovery_fraction)
    deficit = nat.healthy_score - nat.site_score
    site = ratio_estimate(deficit[0], deficit[1])
    passed = (size.value < 0 and size.p < ALPHA and cst.value < 0 and cst.p < ALPHA
              and abs(cst.value) > abs(size_rec.value) and site.high < 1)
    return Row(1, "lesion size → deficit",
               f"ρ(radius, day-0 score) {size.text(2)} (p={size.p:.3f}); ρ(CST cut, recovery "
               f"fraction) {cst.text(2)} (p={cst.p:.3f}) vs ρ(radius, recovery fraction) "
               f"{size_rec.value:.2f}; n={size.n}; premotor / M1 day-0 deficit "
               f"{site.text(2)} ({site.n} pairs)",
               "ρ(size, score) < 0 and ρ(CST, recovery) < 0, each p < 0.05; CST the stronger "
               "predictor of recovery (PREP2); a premotor lesion's deficit below an M1 "
               "lesion's of the same size (ratio CI < 1)", passed,
               {"rho_radius": size.value, "p_radius": size.p, "rho_cst_recovery": cst.value,
                "p_cst_recovery": cst.p, "rho_radius_recovery": size_rec.value, "n": size.n,
                "site_ratio": site.value, "site_ratio_ci": [site.low, site.high],
                "site_deficit_pm": rounded(deficit[0]), "site_deficit_m1": rounded(deficit[1])},
               mg.weakest(mg.significant(size, -1), mg.significant(cst, -1),
                          mg.condition(abs(cst.value) > abs(size_rec.value),
                                       abs(cst.value) - abs(size_rec.value),
                                       (cst.high - cst.low) / 2),
                          mg.below(site, 1.0)))


def lesion_size_figure(g: Measures, nat: NaturalHistory) -> Figure:
    s, cs = nat.score, g.cs
    fig = Figure(figsize=(13, 3.6))
    ax = fig.subplots(1, 3)
    sc = ax[0].scatter(g.radius, s[0], c=cs, cmap="viridis", vmin=0, vmax=max(cs.max(), 1e-3))
    fig.colorbar(sc, ax=ax[0], label="corticospinal fibres cut")
    ax[0].set(xlabel="focal lesion radius (mm)", ylabel="day-0 motor score",
              title="1  lesion size → deficit")
    ax[1].scatter(cs, g.recovery_fraction)
    ax[1].set(xlabel="corticospinal fibres cut", ylabel="recovery fraction (day 0 → end)",
              title="CST damage → poor recovery")
    deficit = nat.healthy_score - nat.site_score
    ax[2].scatter(deficit[1], deficit[0])
    top = max(float(deficit.max()), 1.0)
    ax[2].plot([0, top], [0, top], "k--", lw=1, label="as vital as M1")
    ax[2].set(xlabel="M1 lesion: day-0 deficit", ylabel="premotor lesion, same size",
              title="where the lesion is")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 2 spontaneous recovery
def spontaneous_recovery(nat: NaturalHistory, days: int) -> Row:
    """Partial recovery without therapy (gain > 0, the end below healthy, each with a 95 % CI
    excluding 0), fastest early: the first 10 days' rate above twice the last third's (the
    paired difference's CI above 0); most recovery within the first weeks, then a plateau
    (Jørgensen et al. 1995; Kwakkel et al. 2006)."""
    s = nat.score
    gain = mean_estimate(s[-1] - s[0])
    third = max(1, days // 3)
    early_rate = (s[min(10, days)] - s[0]) / min(10, days)
    late_rate = (s[-1] - s[-1 - third]) / third
    faster = mean_estimate(early_rate - 2 * late_rate)
    below = mean_estimate(nat.healthy_score - s[-1])
    passed = (gain.excludes_zero(+1) and faster.excludes_zero(+1)
              and below.excludes_zero(+1))
    return Row(2, "spontaneous recovery",
               f"gain {gain.text()} pts in {days} d; early {early_rate.mean():.2f} pts/d vs "
               f"last third {late_rate.mean():.2f} pts/d (early − 2 × late {faster.text(2)}); "
               f"end {below.text()} pts below healthy",
               "gain > 0, end < healthy, early rate > 2 × late rate (95 % CIs excluding 0)",
               passed, {"gain": gain.value, "gain_ci": [gain.low, gain.high],
                        "early_rate": float(early_rate.mean()),
                        "late_rate": float(late_rate.mean()),
                        "early_minus_2late_ci": [faster.low, faster.high],
                        "below_healthy": below.value},
               mg.weakest(mg.above(gain), mg.above(faster), mg.above(below)))


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
#: the slope the proportional recovery rule reports, with the band the check allows: 0.70 of
#: the initial impairment in fitters (Prabhakaran et al. 2008: 0.70; Winters et al. 2015: 0.73)
PROPORTIONAL_SLOPE = (0.6, 0.8)


def proportional_recovery(g: Measures, nat: NaturalHistory) -> Row:
    """Recovery ≈ 0.7 × impairment in mild-moderate patients (slope through the origin within
    0.6–0.8, R² reported); patients with severe corticospinal damage recover a smaller fraction
    (their mean recovery fraction's CI below the slope)."""
    impairment, fit, severe = g.impairment, g.fit, g.severe
    rec = nat.score[-1] - nat.score[0]
    slope, r2 = slope_through_origin(impairment[fit], rec[fit])
    sev = mean_estimate(g.recovery_fraction[severe])
    lo, hi = PROPORTIONAL_SLOPE
    passed = bool(lo <= slope.value <= hi and sev.n >= 2 and sev.high < slope.value)
    return Row(3, "proportional recovery",
               f"slope {slope.text(2)} (R²={r2:.2f}, n={slope.n}); severe-CST recovery "
               f"fraction {sev.text(2)} (n={sev.n})",
               f"slope {lo}–{hi} of the initial impairment in mild–moderate patients; severe "
               "CST damage recovers less (CI below the slope) (Prabhakaran 2008)", passed,
               {"slope": slope.value, "slope_ci": [slope.low, slope.high], "r2": r2,
                "n": slope.n, "severe_fraction": sev.value, "severe_ci": [sev.low, sev.high],
                "patients": {"impairment": rounded(impairment), "recovery": rounded(rec),
                             "corticospinal_cut": rounded(g.cs),
                             "fit": fit.tolist(), "severe": severe.tolist()}},
               mg.weakest(mg.within(slope.value, lo, hi, (slope.high - slope.low) / 2),
                          mg.holds(sev.n >= 2),
                          mg.condition(bool(sev.high < slope.value), slope.value - sev.high,
                                       (sev.high - sev.low) / 2)))


def proportional_recovery_figure(g: Measures, nat: NaturalHistory, slope: float) -> Figure:
    s = nat.score
    imp, rec = 100 - s[0], s[-1] - s[0]
    fit, severe = g.fit, g.severe
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
    """Stroke reaches are fragmented (more speed peaks than healthy) and the peaks fall as the
    patient recovers (Rohrer et al. 2002), each with a 95 % CI excluding 0 (impaired patients)."""
    pk, impaired = nat.peaks, g.impaired
    more = mean_estimate(pk[0][impaired] - nat.healthy_peaks)
    fall = mean_estimate(pk[-1][impaired] - pk[0][impaired])
    return Row(8, "smoothness",
               f"speed peaks: healthy {nat.healthy_peaks:.2f}, stroke day 0 "
               f"{pk[0][impaired].mean():.2f} (+{more.text(2)}), change by day {days} "
               f"{fall.text(2)} (n={fall.n})",
               "more peaks than healthy at day 0; fewer as the patient recovers (95 % CIs "
               "excluding 0) (Rohrer 2002)",
               more.excludes_zero(+1) and fall.excludes_zero(-1),
               {"healthy": nat.healthy_peaks, "day0": float(pk[0][impaired].mean()),
                "excess_ci": [more.low, more.high], "change": fall.value,
                "change_ci": [fall.low, fall.high], "n": fall.n},
               mg.weakest(mg.above(more), mg.below(fall)))


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
#: Frost et al. 2003: after M1 lesions the ventral premotor hand area grew by 7-54 % (mean 36 %)
FROST_GROWTH = (0.07, 0.54)


def vicarious_compensation(g: Measures) -> Row:
    """After large M1 lesions premotor output grows within Frost's range (the mean growth of the
    larger half of the lesions within +7–54 %), more with more M1 damage (Spearman p < 0.05)."""
    growth = g.pm_growth
    big = g.m1_damage >= np.median(g.m1_damage)
    large = mean_estimate(growth[big])
    rho = spearman_estimate(g.m1_damage, growth)
    lo, hi = FROST_GROWTH
    passed = bool(lo <= large.value <= hi and rho.value > 0 and rho.p < ALPHA)
    return Row(9, "vicarious compensation",
               f"PM output growth {100 * large.value:+.0f} % [{100 * large.low:+.0f}, "
               f"{100 * large.high:+.0f}] (larger half of M1 damage) vs "
               f"{100 * growth[~big].mean():+.0f} % (smaller); ρ(M1 damage, growth) "
               f"{rho.text(2)} (p={rho.p:.3f})",
               "growth within +7–54 % after large M1 lesions, rising with M1 damage (p < 0.05) "
               "(Frost 2003)", passed,
               {"growth_large": large.value, "growth_large_ci": [large.low, large.high],
                "growth_small": float(growth[~big].mean()), "rho": rho.value, "p": rho.p},
               mg.weakest(mg.within(large.value, lo, hi, (large.high - large.low) / 2),
                          mg.significant(rho, +1)))


def vicarious_compensation_figure(g: Measures) -> Figure:
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    ax.scatter(100 * g.m1_damage, 100 * g.pm_growth)
    ax.axhspan(7, 54, color="g", alpha=0.12, label="Frost 2003: +7–54 %")
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="M1 killed by the lesion (%)", ylabel="premotor output growth (%)",
           title="9  vicarious compensation")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


register(1, "lesion_size", "natural_history",
         lambda cfg, d: lesion_size(d.measures, d.nat),
         lambda cfg, d, row: lesion_size_figure(d.measures, d.nat), tags=(NATURAL_HISTORY,))
register(2, "spontaneous_recovery", "natural_history",
         lambda cfg, d: spontaneous_recovery(d.nat, cfg.days),
         lambda cfg, d, row: spontaneous_recovery_figure(d.nat), tags=(NATURAL_HISTORY,))
register(3, "proportional_recovery", "natural_history",
         lambda cfg, d: proportional_recovery(d.measures, d.nat),
         lambda cfg, d, row: proportional_recovery_figure(d.measures, d.nat, row.values["slope"]),
         tags=(NATURAL_HISTORY,))
register(8, "smoothness", "natural_history",
         lambda cfg, d: smoothness(d.measures, d.nat, cfg.days),
         lambda cfg, d, row: smoothness_figure(d.measures, d.nat), tags=(NATURAL_HISTORY,))
register(9, "vicarious_compensation", "natural_history",
         lambda cfg, d: vicarious_compensation(d.measures),
         lambda cfg, d, row: vicarious_compensation_figure(d.measures), tags=(NATURAL_HISTORY,))
