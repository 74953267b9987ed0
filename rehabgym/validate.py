"""`rehabgym validate`: does the virtual patient behave like real patients?

Runs a virtual cohort through three batched experiments and prints the phenomena table of
DESIGN.md (rows 1-9; row 10 belongs to the environments): for each row the measured effect
with its uncertainty across patients, the expectation and its source, and pass/fail.

- natural history: the cohort with no therapy (rows 1, 2, 3, 8, 9), and a second cohort of
  mild-moderate patients pooled with it for row 3 (the main cohort, which has to span the
  severe lesions of rows 7 and 9, holds only a few patients the rule is about);
- therapy: the same moderate patients under several schedules, side by side in one batch:
  no therapy, uniform practice early / late, other doses early, one direction only (rows 4-6);
- threshold: the whole cohort practises from `threshold_start`, then is followed without
  therapy (row 7).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rehabgym.config import save_config
from rehabgym.cortex.lesion import CohortConfig, Lesion
from rehabgym.cortex.plasticity import RULES, PlasticityConfig
from rehabgym.patient import N_DIRECTIONS, PatientBatch, PatientConfig, SessionPlan, sample_cohort
from rehabgym.stats import mean_ci, paired_t_test

ALL_DIRECTIONS = tuple(range(N_DIRECTIONS))
#: row 3's mild-moderate cohort draws its lesions and noise from `seed + MILD_SEED`, apart from
#: the main cohort (patients `seed + i`) and the held-out patients of row 10 (1 000 000 + i)
MILD_SEED = 500_000


@dataclass
class ValidateConfig:
    """Every default of the validation cohort and its experiments."""

    n_patients: int = 24
    seed: int = 0
    days: int = 60  # natural history
    cohort: CohortConfig = field(default_factory=lambda: CohortConfig(
        focal_radius=(0.2, 0.7), corticospinal_fraction=(0.0, 0.5)))
    #: row 3: patients of a mild-moderate cohort (small lesions, little corticospinal damage)
    #: followed without therapy and pooled with the main cohort; 0 = the main cohort alone
    mild_patients: int = 24
    mild_cohort: CohortConfig = field(default_factory=lambda: CohortConfig(
        focal_radius=(0.05, 0.5), corticospinal_fraction=(0.0, 0.2)))
    therapy_patients: int = 10  # moderate patients in the therapy experiment
    early_start: int = 5
    late_start: int = 30
    therapy_days: int = 10
    reps: int = 60
    doses: tuple[int, ...] = (30, 60, 120)
    trained_direction: int = 0
    row10_patients: int = 16  # held-out patients for the scripted-schedule comparison
    row10_days: int = 10
    #: row 7: the whole cohort practises from this day for `therapy_days`, then is followed for
    #: `followup_days` without therapy (default: the early start, as in Han et al. 2008)
    threshold_start: int = 5
    followup_days: int = 25
    patient: PatientConfig = field(default_factory=PatientConfig)

    def __post_init__(self) -> None:
        minimum = {"n_patients": 1, "mild_patients": 0, "days": 1, "therapy_patients": 1,
                   "early_start": 0, "late_start": 0, "therapy_days": 1, "reps": 1,
                   "row10_patients": 1, "row10_days": 1, "threshold_start": 0,
                   "followup_days": 1}
        for name, low in minimum.items():
            if getattr(self, name) < low:
                raise ValueError(f"{name}: must be >= {low}, got {getattr(self, name)}")

    @property
    def threshold_therapy(self) -> tuple[int, int]:
        """Row 7's therapy: first day and the day it has ended."""
        return self.threshold_start, self.threshold_start + self.therapy_days

    @classmethod
    def quick(cls, base: ValidateConfig | None = None) -> ValidateConfig:
        """A small version of `base` (default: the defaults), a few minutes, for tests and a
        first look: fewer patients and days, the same patient and plasticity."""
        return replace(base or cls(), n_patients=8, mild_patients=8, days=20,
                       therapy_patients=4, early_start=3, late_start=10, therapy_days=4,
                       row10_patients=4, row10_days=3, threshold_start=3, followup_days=7)


@dataclass
class Row:
    number: int
    phenomenon: str
    measured: str
    expected: str
    passed: bool
    values: dict = field(default_factory=dict)

    def line(self) -> str:
        return (f"| {self.number} | {self.phenomenon} | {self.measured} | {self.expected} | "
                f"{'PASS' if self.passed else 'FAIL'} |")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    def rank(x):
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for v in np.unique(x):
            r[x == v] = r[x == v].mean()
        return r
    a, b = np.asarray(a, float), np.asarray(b, float)
    ra, rb = rank(a), rank(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def _rounded(x: np.ndarray, digits: int = 3) -> list[float]:
    """Per-patient values for phenomena.json."""
    return [round(float(v), digits) for v in x]


def _fmt_ci(x: np.ndarray, digits: int = 1) -> str:
    m, h = mean_ci(x)
    return f"{m:.{digits}f} ± {h:.{digits}f}"


# ---------------------------------------------------------------- experiments
def natural_history(cfg: ValidateConfig, lesions: list[Lesion], progress,
                    seed: int | None = None, desc: str = "natural history") -> dict:
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
    for _ in progress(range(cfg.days), desc=desc):
        batch.rest(1)
        record()
    healthy = PatientBatch([None], cfg.patient, seed=seed).last[0]
    return {"score": np.array(scores), "peaks": np.array(peaks), "output_pm": np.array(pm),
            "healthy_score": healthy.score,
            "healthy_peaks": float(np.nanmean(healthy.n_speed_peaks))}


def _conditions(cfg: ValidateConfig) -> list[tuple[str, int, int, tuple[int, ...]]]:
    """(name, start day, reps per day, directions) of each therapy arm."""
    arms = [("control", 0, 0, ()), ("early", cfg.early_start, cfg.reps, ALL_DIRECTIONS),
            ("late", cfg.late_start, cfg.reps, ALL_DIRECTIONS),
            ("single", cfg.early_start, cfg.reps, (cfg.trained_direction,))]
    arms += [(f"dose{d}", cfg.early_start, d, ALL_DIRECTIONS)
             for d in cfg.doses if d != cfg.reps]
    return arms


def therapy_experiment(cfg: ValidateConfig, lesions: list[Lesion], progress,
                       arms: list | None = None, seeds: list[int] | None = None,
                       days: int | None = None) -> dict:
    """The same patients under every schedule of `arms` (default `_conditions`), one batch,
    for `days` days (default: until the late arm's therapy ends).

    A patient keeps its noise seed (`seeds`, default `cfg.seed + i`) in every arm (common
    random numbers): arms are identical until their schedules differ, so a difference
    between arms is the effect of therapy, not of independent noise."""
    arms = _conditions(cfg) if arms is None else arms
    m = len(lesions)
    seeds = [cfg.seed + i for i in range(m)] if seeds is None else list(seeds)
    batch = PatientBatch([les for _ in arms for les in lesions], cfg.patient,
                         seed=[x for _ in arms for x in seeds])
    end = cfg.late_start + cfg.therapy_days if days is None else days
    scores, profiles = [], []
    for day in progress(range(end + 1), desc="therapy"):
        scores.append([a.score for a in batch.last])
        profiles.append([a.profile for a in batch.last])
        if day == end:
            break
        plans = []
        for _name, start, reps, dirs in arms:
            on = start <= day < start + cfg.therapy_days and reps > 0
            plan = SessionPlan(dirs, reps) if on else SessionPlan()
            plans += [plan] * m
        batch.practice(plans)
        batch.rest(1)
    s = np.array(scores).reshape(end + 1, len(arms), m)
    prof = np.array(profiles).reshape(end + 1, len(arms), m, N_DIRECTIONS)
    return {"arms": [a[0] for a in arms], "score": s, "profile": prof}


# ---------------------------------------------------------------- the table
def _groups(lesions: list[Lesion], nat: dict) -> dict[str, np.ndarray]:
    """Per-patient lesion measures, recovery fraction, PM output growth, and the groups rows 3
    and 8 look at."""
    radius = np.array([les.focal_radius for les in lesions])
    cs = np.array([les.corticospinal_fraction for les in lesions])
    s, pm = nat["score"], nat["output_pm"]
    impairment = 100.0 - s[0]
    return {"radius": radius, "cs": cs, "impairment": impairment,
            "recovery_fraction": np.where(impairment > 5, (s[-1] - s[0])
                                          / np.maximum(impairment, 1e-9), np.nan),
            "pm_growth": pm[-1] / np.maximum(pm[0], 1e-9) - 1.0,
            "fit": (impairment <= 60) & (cs < 0.25) & (impairment > 5),  # mild-moderate
            "severe": (cs >= 0.35) & (impairment > 40),
            "impaired": impairment > 10}


def pooled(nat: dict, other: dict | None) -> dict:
    """Two natural histories (same days) as one cohort: the main cohort's patients first."""
    if other is None:
        return nat
    return {**nat, **{k: np.concatenate([nat[k], other[k]], axis=1)
                      for k in ("score", "peaks", "output_pm")}}


def phenomena_rows(cfg: ValidateConfig, lesions: list[Lesion], nat: dict, ther: dict,
                   ther_all: dict, row3: tuple[list[Lesion], dict] | None = None) -> list[Row]:
    """Rows 1-9 from the natural history (`nat`), the therapy arms on moderate patients
    (`ther`) and the row-7 therapy given to the whole cohort (`ther_all`); row 3 from
    `row3` = (lesions, natural history) of the main cohort pooled with the mild-moderate one
    (default: the main cohort alone)."""
    rows: list[Row] = []
    s, days = nat["score"], cfg.days
    s0, sf = s[0], s[-1]
    g = _groups(lesions, nat)
    radius, cs = g["radius"], g["cs"]
    recovered = sf - s0
    frac = g["recovery_fraction"]

    # 1 lesion size -> deficit; corticospinal damage worst
    r_rad, r_cs = spearman(radius, s0), spearman(cs, s0)
    r_cs_rec = spearman(cs, np.nan_to_num(frac))
    rows.append(Row(1, "lesion size → deficit",
                    f"ρ(radius, score)={r_rad:.2f}; ρ(CST cut, score)={r_cs:.2f}; "
                    f"ρ(CST cut, recovery fraction)={r_cs_rec:.2f}",
                    "ρ < 0 for size; CST damage predicts poor recovery (ρ < 0) (PREP2)",
                    r_rad < -0.3 and r_cs_rec < 0,
                    {"rho_radius": r_rad, "rho_cst": r_cs, "rho_cst_recovery": r_cs_rec}))

    # 2 spontaneous recovery: partial, fastest early, then a plateau
    third = max(1, days // 3)
    early_rate = (s[min(10, days)] - s0) / min(10, days)
    late_rate = (s[-1] - s[-1 - third]) / third
    partial = sf < nat["healthy_score"] - 2
    rows.append(Row(2, "spontaneous recovery",
                    f"gain {_fmt_ci(recovered)} pts in {days} d; early {_fmt_ci(early_rate, 2)} "
                    f"pts/d vs last third {_fmt_ci(late_rate, 2)} pts/d",
                    "partial recovery without therapy, fastest early, then a plateau",
                    bool(recovered.mean() > 0 and early_rate.mean() > 2 * max(late_rate.mean(), 0)
                         and partial.mean() > 0.5),
                    {"gain": float(recovered.mean()), "early_rate": float(early_rate.mean()),
                     "late_rate": float(late_rate.mean())}))

    # 3 proportional recovery for mild-moderate; severe CST damage breaks it
    les3, nat3 = row3 if row3 is not None else (lesions, nat)
    g3 = _groups(les3, nat3)
    impairment, fit, severe = g3["impairment"], g3["fit"], g3["severe"]
    rec3 = nat3["score"][-1] - nat3["score"][0]
    slope = (float((impairment[fit] * rec3[fit]).sum() / (impairment[fit] ** 2).sum())
             if fit.sum() >= 3 else float("nan"))
    resid = rec3[fit] - slope * impairment[fit]
    r2 = 1 - resid.var() / rec3[fit].var() if fit.sum() >= 3 else float("nan")
    sev_frac = float(np.nanmean(g3["recovery_fraction"][severe])) if severe.any() else float("nan")
    n_main = int(fit[: len(lesions)].sum())
    rows.append(Row(3, "proportional recovery",
                    f"slope {slope:.2f} (R²={r2:.2f}, n={fit.sum()}: {n_main} of the cohort, "
                    f"{fit.sum() - n_main} of the mild–moderate one); severe-CST recovery "
                    f"fraction {sev_frac:.2f} (n={severe.sum()})",
                    "≈ 0.7 × initial impairment for mild–moderate; severe CST damage below "
                    "(Prabhakaran 2008)",
                    bool(0.5 <= slope <= 0.9 and (not severe.any() or sev_frac < slope)),
                    {"slope": slope, "r2": r2, "n": int(fit.sum()), "n_main": n_main,
                     "severe_fraction": sev_frac,
                     "patients": {"impairment": _rounded(impairment), "recovery": _rounded(rec3),
                                  "corticospinal_cut": _rounded(g3["cs"]),
                                  "fit": fit.tolist(), "severe": severe.tolist()}}))

    # 4-7 from the therapy experiment
    arms, ts = ther["arms"], ther["score"]
    k = {name: i for i, name in enumerate(arms)}
    ctrl = ts[:, k["control"]]
    e_end, l_end = cfg.early_start + cfg.therapy_days, cfg.late_start + cfg.therapy_days
    gain_early = ts[e_end, k["early"]] - ctrl[e_end]
    gain_late = ts[l_end, k["late"]] - ctrl[l_end]
    t4 = paired_t_test(gain_early, gain_late)
    rows.append(Row(4, "early beats late",
                    f"gain over control: early {_fmt_ci(gain_early)} vs late {_fmt_ci(gain_late)}"
                    f" (paired p={t4.p:.3f})",
                    f"same dose at day {cfg.early_start} beats day {cfg.late_start} "
                    "(Biernaskie 2004)", bool(t4.mean_diff > 0 and t4.p < 0.1),
                    {"early": float(gain_early.mean()), "late": float(gain_late.mean()),
                     "p": t4.p}))

    dose_arms = sorted([(0, "control")] + [(cfg.reps, "early")]
                       + [(d, f"dose{d}") for d in cfg.doses if d != cfg.reps])
    gains = [float((ts[e_end, k[a]] - ctrl[e_end]).mean()) for _, a in dose_arms]
    doses = [d for d, _ in dose_arms]
    mono = all(b >= a - 0.5 for a, b in zip(gains, gains[1:]))
    per_rep = [(g2 - g1) / (d2 - d1) for (d1, g1), (d2, g2) in
               zip(zip(doses, gains), zip(doses[1:], gains[1:]))]
    diminishing = per_rep[-1] < per_rep[0]
    rows.append(Row(5, "dose–response",
                    "gain over control by reps/day: "
                    + ", ".join(f"{d}: {g:.1f}" for d, g in zip(doses, gains)),
                    "more reps, more recovery, with diminishing returns",
                    bool(mono and gains[-1] > gains[0] + 1 and diminishing),
                    {"doses": doses, "gains": gains}))

    prof = ther["profile"]
    dir_gain = prof[e_end, k["single"]] - prof[e_end, k["control"]]  # [m, D]
    ang = (np.arange(N_DIRECTIONS) - cfg.trained_direction) % N_DIRECTIONS
    ang = np.minimum(ang, N_DIRECTIONS - ang) * (360 // N_DIRECTIONS)
    by_dist = {int(a): float(dir_gain[:, ang == a].mean()) for a in np.unique(ang)}
    rho6 = spearman(np.tile(ang, len(dir_gain)), dir_gain.ravel())
    rows.append(Row(6, "specificity & generalisation",
                    "gain by angle from trained: "
                    + ", ".join(f"{a}°: {g:.1f}" for a, g in by_dist.items())
                    + f" (ρ={rho6:.2f})",
                    "trained direction improves most; gains fall with angular distance",
                    bool(by_dist[0] == max(by_dist.values()) and rho6 < 0),
                    {"by_angle": by_dist, "rho": rho6}))

    # 7 use it or lose it: the whole cohort gets the same therapy, then none; the change
    # after therapy ends is compared between those who end it above / below the threshold
    thr = cfg.patient.use_threshold
    t_start, t_end = cfg.threshold_therapy
    ts7 = ther_all["score"][:, 0]
    end_s, after = ts7[t_end], ts7[t_end + cfg.followup_days] - ts7[t_end]
    above, below = end_s >= thr, end_s < thr
    up = float(after[above].mean()) if above.any() else float("nan")
    down = float(after[below].mean()) if below.any() else float("nan")
    rows.append(Row(7, "threshold / use it or lose it",
                    f"change in the {cfg.followup_days} d after therapy (days "
                    f"{t_start}–{t_end}) ends: ended above "
                    f"{thr:.0f} pts {_fmt_ci(after[above])} (n={above.sum()}), below "
                    f"{_fmt_ci(after[below])} (n={below.sum()})",
                    "above a threshold function keeps improving; below it declines (Han 2008)",
                    bool(above.any() and below.any() and up > 0 and down < 0),
                    {"above": up, "below": down, "n_above": int(above.sum()),
                     "n_below": int(below.sum())}))

    # 8 smoothness
    pk = nat["peaks"]
    impaired = g["impaired"]
    dpk = pk[-1] - pk[0]
    rows.append(Row(8, "smoothness",
                    f"speed peaks: healthy {nat['healthy_peaks']:.2f}, stroke day 0 "
                    f"{_fmt_ci(pk[0][impaired], 2)}, change by day {days} "
                    f"{_fmt_ci(dpk[impaired], 2)}",
                    "stroke reaches fragmented; peaks fall with recovery (Rohrer 2002)",
                    bool(impaired.any() and pk[0][impaired].mean() > nat["healthy_peaks"]
                         and dpk[impaired].mean() < 0),
                    {"healthy": nat["healthy_peaks"], "day0": float(pk[0][impaired].mean()),
                     "change": float(dpk[impaired].mean())}))

    # 9 vicarious compensation
    growth = g["pm_growth"]
    rho9 = spearman(radius, growth)
    big = radius >= np.median(radius)
    rows.append(Row(9, "vicarious compensation",
                    f"PM output growth {100 * growth[big].mean():+.0f} % (large lesions) vs "
                    f"{100 * growth[~big].mean():+.0f} % (small); ρ(radius, growth)={rho9:.2f}",
                    "PM output grows after large M1 lesions, more with bigger lesions "
                    "(Frost 2003: +7–54 %)", bool(growth[big].mean() > 0 and rho9 > 0),
                    {"growth_large": float(growth[big].mean()),
                     "growth_small": float(growth[~big].mean()), "rho": rho9}))
    return rows


def therapist_row(cfg: ValidateConfig) -> Row:
    """Row 10: scripted schedules on one held-out cohort (the environments' own runner),
    with the validated patient (its plasticity included)."""
    from rehabgym.envs.schedules import schedule_comparison
    from rehabgym.envs.therapy import TherapyEnvConfig

    res = schedule_comparison("mixed", cfg.row10_patients, cfg.row10_days, verbose=False,
                              config=TherapyEnvConfig(patient=cfg.patient))
    means = {r["schedule"]: r["mean"] for r in res["rows"]}
    test = res["best_vs_worst"]
    return Row(10, "the therapist matters",
               ", ".join(f"{k}: {v:.1f}" for k, v in means.items())
               + f"; best − worst {test['mean_diff']:.1f} (p={test['p']:.4f})",
               "best and worst sensible schedules differ clearly in final score",
               bool(test["mean_diff"] > 5 and test["p"] < 0.05),
               {"means": means, "best_vs_worst": test})


def _figures(cfg: ValidateConfig, lesions: list[Lesion], nat: dict, ther: dict,
             ther_all: dict, row3: tuple[list[Lesion], dict], rows: list[Row], table: str,
             out: Path) -> list[Path]:
    """One PNG per row (1-9) plus the overview, also logged to TensorBoard in `out` with the
    table and each row's pass/fail (`phenomena/passed` at step = row number)."""
    from torch.utils.tensorboard import SummaryWriter

    from rehabgym import phenomena_figures as pf

    g, g3 = _groups(lesions, nat), _groups(*row3)
    v = {r.number: r.values for r in rows}
    early = (cfg.early_start, cfg.early_start + cfg.therapy_days)
    late = (cfg.late_start, cfg.late_start + cfg.therapy_days)
    figs = {
        "row1_lesion_size": pf.row1(g["radius"], g["cs"], g["recovery_fraction"], nat),
        "row2_spontaneous_recovery": pf.row2(nat),
        "row3_proportional_recovery": pf.row3(row3[1], v[3], g3["fit"], g3["severe"]),
        "row4_early_vs_late": pf.row4(ther, early, late),
        "row5_dose_response": pf.row5(v[5]),
        "row6_specificity": pf.row6(v[6]),
        "row7_use_it_or_lose_it": pf.row7(ther_all, cfg.threshold_therapy,
                                          cfg.patient.use_threshold),
        "row8_smoothness": pf.row8(nat, g["impaired"]),
        "row9_vicarious_compensation": pf.row9(g["radius"], g["pm_growth"]),
        "phenomena": pf.overview(nat, ther, row3[1]),
    }
    paths = []
    with SummaryWriter(str(out)) as w:
        w.add_text("phenomena/table", table)
        for r in rows:
            w.add_scalar("phenomena/passed", float(r.passed), r.number)
        for name, fig in figs.items():
            path = out / f"{name}.png"
            fig.savefig(path, dpi=110)
            paths.append(path)
            w.add_figure(f"phenomena/{name}", fig, 0, close=True)
    return paths


def validate(cfg: ValidateConfig, out: Path | None = None, ablate: str | None = None,
             progress: bool = True) -> list[Row]:
    """Run the cohort, print the table, save table/figures/config under `out`."""
    from tqdm import tqdm

    def bar(it, desc):
        return tqdm(it, desc=desc, disable=not progress, leave=False)

    if ablate is not None:
        if ablate not in RULES:
            raise ValueError(f"ablate: unknown rule {ablate!r}; allowed: {list(RULES)}")
        cfg = replace(cfg, patient=replace(cfg.patient,
                                           plasticity=cfg.patient.plasticity.without(ablate)))
    lesions = sample_cohort(cfg.cohort, cfg.n_patients, cfg.seed)
    nat = natural_history(cfg, lesions, bar)
    mild = sample_cohort(cfg.mild_cohort, cfg.mild_patients, cfg.seed + MILD_SEED)
    nat_mild = (natural_history(cfg, mild, bar, seed=cfg.seed + MILD_SEED,
                                desc="mild–moderate cohort") if mild else None)
    row3 = (lesions + mild, pooled(nat, nat_mild))
    imp = 100 - nat["score"][0]
    order = np.argsort(np.abs(imp - 45))  # the most moderate patients for the therapy arms
    chosen = sorted(order[: cfg.therapy_patients])
    ther = therapy_experiment(cfg, [lesions[i] for i in chosen], bar,
                              seeds=[cfg.seed + int(i) for i in chosen])
    row7_arm = [("threshold", cfg.threshold_start, cfg.reps, ALL_DIRECTIONS)]
    ther_all = therapy_experiment(cfg, lesions, bar, arms=row7_arm,
                                  days=cfg.threshold_therapy[1] + cfg.followup_days)
    rows = phenomena_rows(cfg, lesions, nat, ther, ther_all, row3)
    if ablate is None:
        rows.append(therapist_row(cfg))
    header = ("| # | phenomenon | measured (mean ± 95 % CI across patients) | expected | result |\n"
              "|---|---|---|---|---|")
    table = "\n".join([header] + [r.line() for r in rows])
    title = f"Phenomena ({cfg.n_patients} patients" + (f", ablated: {ablate}" if ablate else "")
    print(f"{title}, seed {cfg.seed})\n{table}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.yaml")
        (out / "phenomena.md").write_text(table + "\n")
        (out / "phenomena.json").write_text(json.dumps(
            [{"row": r.number, "phenomenon": r.phenomenon, "passed": r.passed,
              "measured": r.measured, "values": r.values} for r in rows],
            indent=1, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v))
        _figures(cfg, lesions, nat, ther, ther_all, row3, rows, table, out)
    return rows


__all__ = ["PlasticityConfig", "Row", "ValidateConfig", "spearman", "validate"]
