"""The therapy experiment: the same moderate patients under several schedules, side by side.

Rows 4 (early beats late), 5 (dose-response) and 6 (specificity and generalisation), each
beside its figure. The arms share one batch and each patient keeps its noise seed in every
arm (common random numbers): arms are identical until their schedules differ, so a
difference between arms is the effect of therapy, not of independent noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from rehabgym.cortex.lesion import Lesion
from rehabgym.patient import N_DIRECTIONS, PatientBatch, SessionPlan
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.natural_history import Progress
from rehabgym.phenomena.table import Row, fmt_ci, spearman
from rehabgym.stats import paired_t_test

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
    ctrl = ther.arm("control")
    e_end, l_end = cfg.early[1], cfg.late[1]
    gain_early = ther.arm("early")[e_end] - ctrl[e_end]
    gain_late = ther.arm("late")[l_end] - ctrl[l_end]
    t4 = paired_t_test(gain_early, gain_late)
    return Row(4, "early beats late",
               f"gain over control: early {fmt_ci(gain_early)} vs late {fmt_ci(gain_late)}"
               f" (paired p={t4.p:.3f})",
               f"same dose at day {cfg.early_start} beats day {cfg.late_start} "
               "(Biernaskie 2004)", bool(t4.mean_diff > 0 and t4.p < 0.1),
               {"early": float(gain_early.mean()), "late": float(gain_late.mean()),
                "p": t4.p})


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
    e_end = cfg.early[1]
    ctrl = ther.arm("control")
    dose_arms = sorted([(0, "control")] + [(cfg.reps, "early")]
                       + [(d, f"dose{d}") for d in cfg.doses if d != cfg.reps])
    gains = [float((ther.arm(a)[e_end] - ctrl[e_end]).mean()) for _, a in dose_arms]
    doses = [d for d, _ in dose_arms]
    mono = all(b >= a - 0.5 for a, b in zip(gains, gains[1:]))
    per_rep = [(g2 - g1) / (d2 - d1) for (d1, g1), (d2, g2) in
               zip(zip(doses, gains), zip(doses[1:], gains[1:]))]
    diminishing = per_rep[-1] < per_rep[0]
    return Row(5, "dose–response",
               "gain over control by reps/day: "
               + ", ".join(f"{d}: {g:.1f}" for d, g in zip(doses, gains)),
               "more reps, more recovery, with diminishing returns",
               bool(mono and gains[-1] > gains[0] + 1 and diminishing),
               {"doses": doses, "gains": gains})


def dose_response_figure(values: dict) -> Figure:
    fig = Figure(figsize=(5, 3.6))
    ax = fig.subplots()
    ax.plot(values["doses"], values["gains"], "o-")
    ax.set(xlabel="repetitions per day", ylabel="gain over control (points)",
           title="5  dose–response")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- 6 specificity
def specificity(cfg: ValidateConfig, ther: TherapyResult) -> Row:
    e_end = cfg.early[1]
    k = {name: i for i, name in enumerate(ther.arms)}
    prof = ther.profile
    dir_gain = prof[e_end, k["single"]] - prof[e_end, k["control"]]  # [m, D]
    ang = (np.arange(N_DIRECTIONS) - cfg.trained_direction) % N_DIRECTIONS
    ang = np.minimum(ang, N_DIRECTIONS - ang) * (360 // N_DIRECTIONS)
    by_dist = {int(a): float(dir_gain[:, ang == a].mean()) for a in np.unique(ang)}
    rho6 = spearman(np.tile(ang, len(dir_gain)), dir_gain.ravel())
    return Row(6, "specificity & generalisation",
               "gain by angle from trained: "
               + ", ".join(f"{a}°: {g:.1f}" for a, g in by_dist.items())
               + f" (ρ={rho6:.2f})",
               "trained direction improves most; gains fall with angular distance",
               bool(by_dist[0] == max(by_dist.values()) and rho6 < 0),
               {"by_angle": by_dist, "rho": rho6})


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
