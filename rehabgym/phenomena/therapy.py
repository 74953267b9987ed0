"""The therapy experiment: the same moderate patients under several schedules, side by side.

Rows 4 (early beats late), 5 (dose-response) and 6 (specificity and generalisation), each
beside its figure and each tested with a 95 % confidence interval at α = 0.05. The arms share
one batch and each patient keeps its noise seed in every arm (common random numbers): arms
are identical until their schedules differ, so a difference between arms is the effect of
therapy, not of independent noise; the tests are paired over patients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from rehabgym.cortex.lesion import Lesion
from rehabgym.patient import N_DIRECTIONS, PatientBatch, SessionPlan
from rehabgym.phenomena import margins as mg
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.natural_history import Progress
from rehabgym.phenomena.registry import NEEDS_THERAPY, register
from rehabgym.phenomena.table import Row
from rehabgym.stats import ALPHA, mean_estimate

ALL_DIRECTIONS = tuple(range(N_DIRECTIONS))


@dataclass(frozen=True)
class Arm:
    """One schedule: from `start` for the config's `therapy_days`, `reps` a day over
    `directions` (no reps: no therapy)."""

    name: str
    start: int
    reps: int
    directions: tuple[int, ...]


@dataclass
class TherapyResult:
    """Daily scores [days + 1, arms, patients] and profiles [..., directions] of each arm."""

    arms: list[str]
    score: np.ndarray
    profile: np.ndarray

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"arms": np.array(self.arms), "score": self.score, "profile": self.profile}

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> TherapyResult:
        return cls([str(a) for a in data["arms"]], data["score"], data["profile"])

    def arm(self, name: str) -> np.ndarray:
        """[days + 1, patients] scores of the arm `name`."""
        return self.score[:, self.arms.index(name)]


def therapy_arms(cfg: ValidateConfig) -> list[Arm]:
    """Control, early and late practice over all directions, one direction only, and the
    other doses early."""
    arms = [Arm("control", 0, 0, ()), Arm("early", cfg.early_start, cfg.reps, ALL_DIRECTIONS),
            Arm("late", cfg.late_start, cfg.reps, ALL_DIRECTIONS),
            Arm("single", cfg.early_start, cfg.reps, (cfg.trained_direction,))]
    arms += [Arm(f"dose{d}", cfg.early_start, d, ALL_DIRECTIONS)
             for d in cfg.doses if d != cfg.reps]
    return arms


def therapy_experiment(cfg: ValidateConfig, lesions: list[Lesion], progress: Progress,
                       arms: list[Arm] | None = None, seeds: list[int] | None = None,
                       days: int | None = None) -> TherapyResult:
    """The same patients under every schedule of `arms` (default `therapy_arms`), one batch,
    for `days` days (default: until the late arm's therapy ends). Patient i keeps its noise
    seed (`seeds`, default `cfg.seed + i`) in every arm."""
    arms = therapy_arms(cfg) if arms is None else arms
    m = len(lesions)
    seeds = [cfg.seed + i for i in range(m)] if seeds is None else list(seeds)
    batch = PatientBatch([les for _ in arms for les in lesions], cfg.patient,
                         seed=[x for _ in arms for x in seeds])
    end = cfg.late[1] if days is None else days
    scores, profiles = [], []
    for day in progress(range(end + 1), "therapy"):
        scores.append([a.score for a in batch.last])
        profiles.append([a.profile for a in batch.last])
        if day == end:
            break
        plans = []
        for arm in arms:
            on = arm.start <= day < arm.start + cfg.therapy_days and arm.reps > 0
            plan = SessionPlan(arm.directions, arm.reps) if on else SessionPlan()
            plans += [plan] * m
        batch.practice(plans)
        batch.rest(1)
    s = np.array(scores).reshape(end + 1, len(arms), m)
    prof = np.array(profiles).reshape(end + 1, len(arms), m, N_DIRECTIONS)
    return TherapyResult([a.name for a in arms], s, prof)


# ---------------------------------------------------------------- 4 early beats late
def early_beats_late(cfg: ValidateConfig, ther: TherapyResult) -> Row:
    """The same dose started early gains more over the untreated control than started late
    (paired over the same patients, p < 0.05; Biernaskie, Chernenko & Corbett 2004)."""
    ctrl = ther.arm("control")
    e_end, l_end = cfg.early[1], cfg.late[1]
    gain_early = ther.arm("early")[e_end] - ctrl[e_end]
    gain_late = ther.arm("late")[l_end] - ctrl[l_end]
    diff = mean_estimate(gain_early - gain_late)
    return Row(4, "early beats late",
               f"gain over control: early {gain_early.mean():.1f} vs late {gain_late.mean():.1f}"
               f"; early − late {diff.text()} (paired p={diff.p:.3f}, n={diff.n})",
               f"same dose at day {cfg.early_start} beats day {cfg.late_start}, paired p < 0.05 "
               "(Biernaskie 2004)", bool(diff.value > 0 and diff.p < ALPHA),
               {"early": float(gain_early.mean()), "late": float(gain_late.mean()),
                "diff_ci": [diff.low, diff.high], "p": diff.p}, mg.significant(diff, +1))


def early_beats_late_figure(cfg: ValidateConfig, ther: TherapyResult) -> Figure:
    fig = Figure(figsize=(6, 3.6))
    ax = fig.subplots()
    ctrl = ther.arm("control")
    for name, color in (("control", "k"), ("early", "C0"), ("late", "C1")):
        ax.plot((ther.arm(name) - ctrl).mean(1), color=color, lw=2, label=name)
    ax.axvspan(*cfg.early, color="C0", alpha=0.12)
    ax.axvspan(*cfg.late, color="C1", alpha=0.12)
    ax.set(xlabel="days since stroke", ylabel="score − control (mean)",
           title="4  early beats late (shaded: therapy)")
    ax.legend()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 5 dose-response
def dose_response(cfg: ValidateConfig, ther: TherapyResult) -> Row:
    """More repetitions, more gain over control (the largest dose's gain CI above 0, no step
    significantly down), with diminishing returns: the last step's gain per repetition below
    the first step's (paired CI below 0) (Lohse et al. 2014; Kwakkel et al. 2004)."""
    e_end = cfg.early[1]
    ctrl = ther.arm("control")
    dose_arms = sorted([(0, "control")] + [(cfg.reps, "early")]
                       + [(d, f"dose{d}") for d in cfg.doses if d != cfg.reps])
    doses = [d for d, _ in dose_arms]
    gain = [ther.arm(a)[e_end] - ctrl[e_end] for _, a in dose_arms]  # per patient
    steps = [mean_estimate(b - a) for a, b in zip(gain, gain[1:])]
    most = mean_estimate(gain[-1])
    first = (gain[1] - gain[0]) / (doses[1] - doses[0])
    last = (gain[-1] - gain[-2]) / (doses[-1] - doses[-2])
    diminishing = mean_estimate(last - first)
    passed = bool(most.excludes_zero(+1) and not any(s.excludes_zero(-1) for s in steps)
                  and len(doses) >= 3 and diminishing.excludes_zero(-1))
    return Row(5, "dose–response",
               "gain over control by reps/day: "
               + ", ".join(f"{d}: {g.mean():.1f}" for d, g in zip(doses, gain))
               + f"; at {doses[-1]} {most.text()}; per-rep gain, last − first step "
               f"{diminishing.text(3)}",
               "gain rises with dose (CI > 0, no step down) with diminishing returns (last step's "
               "gain per rep below the first's, CI < 0)", passed,
               {"doses": doses, "gains": [float(g.mean()) for g in gain],
                "steps_ci": [[s.low, s.high] for s in steps],
                "diminishing": diminishing.value,
                "diminishing_ci": [diminishing.low, diminishing.high]},
               mg.weakest(mg.above(most), *(mg.not_below(s) for s in steps),
                          mg.holds(len(doses) >= 3), mg.below(diminishing)))


def dose_response_figure(values: dict) -> Figure:
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    ax.plot(values["doses"], values["gains"], "o-")
    ax.set(xlabel="repetitions per day", ylabel="gain over control (points)",
           title="5  dose–response")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 6 specificity
#: points on the 0-100 scale by which practice may leave untrained directions below no therapy
#: and still count as not harming them: half of the smallest clinically important difference
#: of the Fugl-Meyer upper-extremity score (4.25 of 66 points, Page et al. 2012), on 0-100
NO_HARM_MARGIN = 0.5 * 4.25 / 66 * 100


def specificity(cfg: ValidateConfig, ther: TherapyResult) -> Row:
    """Practice of one direction: the trained direction gains most, gains fall with angular
    distance (each patient's slope of gain on angle, CI below 0), and the untrained directions
    (90° to 180° away) are not made worse than with no therapy: their mean gain's CI lies
    above -`NO_HARM_MARGIN` (a non-inferiority test), as generalisation is reported in the
    clinic (Krakauer 2006; Schweighofer et al. 2012)."""
    e_end = cfg.early[1]
    k = {name: i for i, name in enumerate(ther.arms)}
    prof = ther.profile
    dir_gain = prof[e_end, k["single"]] - prof[e_end, k["control"]]  # [m, D]
    ang = (np.arange(N_DIRECTIONS) - cfg.trained_direction) % N_DIRECTIONS
    ang = np.minimum(ang, N_DIRECTIONS - ang) * (360 // N_DIRECTIONS)
    angles = [int(a) for a in np.unique(ang)]
    by = {a: mean_estimate(dir_gain[:, ang == a].mean(1)) for a in angles}
    slopes = np.array([np.polyfit(ang, g, 1)[0] for g in dir_gain])  # points per degree
    falls = mean_estimate(slopes)
    untrained = mean_estimate(dir_gain[:, ang >= 90].mean(1))
    others = max(e.value for a, e in by.items() if a != 0)
    first = by[0].value == max(e.value for e in by.values())
    top = mg.condition(first, by[0].value - others, (by[0].high - by[0].low) / 2)
    passed = bool(first and falls.excludes_zero(-1) and untrained.low > -NO_HARM_MARGIN)
    return Row(6, "specificity & generalisation",
               "gain by angle from trained: "
               + ", ".join(f"{a}°: {e.text()}" for a, e in by.items())
               + f"; slope {100 * falls.value:.1f} [{100 * falls.low:.1f}, "
               f"{100 * falls.high:.1f}] pts/100°; 90–180° {untrained.text()}",
               "trained direction gains most, gains fall with angle (CI < 0), directions 90–180° "
               f"not below control (CI above −{NO_HARM_MARGIN:.1f}, half the FM-UE MCID)", passed,
               {"by_angle": {a: e.value for a, e in by.items()},
                "by_angle_ci": {a: [e.low, e.high] for a, e in by.items()},
                "slope": falls.value, "slope_ci": [falls.low, falls.high],
                "untrained": untrained.value, "untrained_ci": [untrained.low, untrained.high]},
               mg.weakest(top, mg.below(falls), mg.above(untrained, -NO_HARM_MARGIN)))


def specificity_figure(values: dict) -> Figure:
    by = values["by_angle"]
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    ax.bar([str(a) + "°" for a in by], list(by.values()))
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="angle from the trained direction", ylabel="gain over control (points)",
           title="6  specificity & generalisation")
    fig.tight_layout()
    return fig


register(4, "early_vs_late", "therapy", lambda cfg, d: early_beats_late(cfg, d.ther),
         lambda cfg, d, row: early_beats_late_figure(cfg, d.ther), tags=(NEEDS_THERAPY,))
register(5, "dose_response", "therapy", lambda cfg, d: dose_response(cfg, d.ther),
         lambda cfg, d, row: dose_response_figure(row.values), tags=(NEEDS_THERAPY,))
register(6, "specificity", "therapy", lambda cfg, d: specificity(cfg, d.ther),
         lambda cfg, d, row: specificity_figure(row.values), tags=(NEEDS_THERAPY,))
