"""Rows 11 (challenge point) and 12 (assistance): the right difficulty depends on the patient.

A mild and a severe cohort practise the same dose (`reps` a day over all directions, from
`early_start` for `therapy_days`) at every difficulty level: each distance × assistance ×
precision of `challenge_distances` × `challenge_assistance` × `challenge_precision` (the
environments' distances and assistance; precision 0.7 is the default success threshold, 0.9
a target a third as wide, too hard for most mild patients). Every
patient practises at every level with its own noise seed, beside the same patient without
therapy (common random numbers), so a level's gain is paired with the patient's control. The
patients are simulated a few levels at a time (`challenge_chunk`): each patient's result does
not depend on who shares its batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from scipy import stats as scipy_stats

from rehabgym.patient import CohortConfig, PatientBatch, SessionPlan, sample_cohort
from rehabgym.phenomena import margins as mg
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.natural_history import Progress
from rehabgym.phenomena.registry import NEEDS_THERAPY, register
from rehabgym.phenomena.table import Row
from rehabgym.phenomena.therapy import ALL_DIRECTIONS
from rehabgym.stats import ALPHA, mean_estimate

COHORTS = ("mild", "severe")
#: the precision of levels saved before it was a dimension: the default success threshold
DEFAULT_PRECISION = 0.7


@dataclass
class ChallengeResult:
    """Per cohort, level and patient: gain over the patient's own control at the end of therapy,
    and the mean success rate of its sessions; per cohort and patient the control's score."""

    levels: list[tuple[float, float, float]]  # (distance m, assistance, precision)
    gain: np.ndarray  # [cohorts, levels, patients]
    success: np.ndarray  # [cohorts, levels, patients]
    control: np.ndarray  # [cohorts, patients]

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"levels": np.array(self.levels, dtype=float), "gain": self.gain,
                "success": self.success, "control": self.control}

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> ChallengeResult:
        levels = np.asarray(data["levels"], dtype=float)
        if levels.shape[1] == 2:  # stages saved before precision: the default threshold
            levels = np.column_stack([levels, np.full(len(levels), DEFAULT_PRECISION)])
        return cls([(float(d), float(a), float(q)) for d, a, q in levels], data["gain"],
                   data["success"], data["control"])


def challenge_levels(cfg: ValidateConfig) -> list[tuple[float, float, float]]:
    return [(d, a, q) for d in cfg.challenge_distances for a in cfg.challenge_assistance
            for q in cfg.challenge_precision]


def challenge_lesions(cfg: ValidateConfig, cohort: str):
    """The cohort's patients: the preset's lesions, drawn for the seed (its own stream)."""
    return sample_cohort(CohortConfig.preset(cohort), cfg.challenge_patients,
                         cfg.seed + 700 + COHORTS.index(cohort))


def _run_levels(cfg: ValidateConfig, lesions, seeds: list[int],
                levels: list[tuple[float, float, float] | None]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Final scores [levels, patients] and mean session success [levels, patients]; a None
    level is no therapy."""
    m = len(lesions)
    batch = PatientBatch([les for _ in levels for les in lesions], cfg.patient,
                         seed=[s for _ in levels for s in seeds])
    start, end = cfg.early
    success = np.zeros((len(levels), m))
    batch.rest(start)
    for _ in range(start, end):
        plans = [SessionPlan() if lv is None else
                 SessionPlan(ALL_DIRECTIONS, cfg.reps, lv[0], lv[1], lv[2])
                 for lv in levels for _ in range(m)]
        sessions = batch.practice(plans)
        success += np.nan_to_num([s.success_rate for s in sessions]).reshape(len(levels), m)
        batch.rest(1)
    return batch.scores.reshape(len(levels), m), success / (end - start)


def challenge_experiment(cfg: ValidateConfig, progress: Progress) -> ChallengeResult:
    """Both cohorts at every level and without therapy (see the module's docstring)."""
    levels = challenge_levels(cfg)
    arms: list[tuple[float, float, float] | None] = [None, *levels]
    k = cfg.challenge_chunk
    chunks = [arms[i:i + k] for i in range(0, len(arms), k)]
    n = cfg.challenge_patients
    final = np.zeros((len(COHORTS), len(arms), n))
    success = np.zeros_like(final)
    jobs = [(c, j) for c in range(len(COHORTS)) for j in range(len(chunks))]
    for c, j in progress(jobs, "challenge"):
        lesions = challenge_lesions(cfg, COHORTS[c])
        seeds = [cfg.seed + 30000 + 1000 * c + i for i in range(n)]
        rows = slice(j * k, j * k + len(chunks[j]))
        final[c, rows], success[c, rows] = _run_levels(cfg, lesions, seeds, chunks[j])
    return ChallengeResult(levels, final[:, 1:] - final[:, :1], success[:, 1:], final[:, 0])


def interaction_p(gain: np.ndarray, n_resamples: int = 9999, seed: int = 0) -> float:
    """Permutation p of the cohort × level interaction for gains [2, levels, patients].

    Each patient's gains are centred on the patient's own mean over levels (what is left is
    the shape of its gain over difficulty); the statistic is the sum over levels of the squared
    Welch t of the two cohorts' mean shapes, and the null shuffles patients between cohorts
    (`scipy.stats.permutation_test`; Anderson & ter Braak 2003 permute residuals). Studentized,
    so a level where a few patients swing widely does not drown the others (a studentized
    permutation test stays valid with unequal variances: Janssen 1997; Chung & Romano 2013).
    """
    shape = gain - gain.mean(1, keepdims=True)  # [2, L, n]

    def welch_t2(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
        var = a.var(axis, ddof=1) / a.shape[axis] + b.var(axis, ddof=1) / b.shape[axis]
        return ((a.mean(axis) - b.mean(axis)) ** 2 / np.maximum(var, 1e-12)).sum(-1)

    res = scipy_stats.permutation_test((shape[0].T, shape[1].T), welch_t2,
                                       permutation_type="independent", vectorized=True,
                                       n_resamples=n_resamples, alternative="greater", axis=0,
                                       random_state=seed)
    return float(res.pvalue)


def _label(level: tuple[float, float, float]) -> str:
    return f"{100 * level[0]:.0f} cm, assistance {level[1]:g}, precision {level[2]:g}"


def _ease(level: tuple[float, float, float]) -> tuple[float, float, float]:
    """Orders levels from hard to easy: more assistance, then a larger target (lower
    precision), then a nearer one."""
    return level[1], -level[2], -level[0]


def challenge_point(cfg: ValidateConfig, res: ChallengeResult) -> Row:
    """The best difficulty differs between mild and severe patients (cohort × level
    interaction, studentized permutation p < 0.05) and is easier for the severe (more
    assistance, or as much and a larger target, or as much of both and a nearer one: guidance
    helps the weakest learners and hinders the skilled, Marchal-Crespo & Reinkensmeyer 2009),
    and in each cohort both the easiest
    level (highest success) and the hardest (lowest success) gain less than the best level
    (paired 95 % CIs above 0) (Guadagnoli & Lee 2004; Wilson et al. 2019)."""
    p = interaction_p(res.gain, seed=cfg.seed)
    parts, ok, values = [], p < ALPHA, {"interaction_p": p}
    terms = [mg.p_below(p)]
    best_levels = []
    for c, name in enumerate(COHORTS):
        g, s = res.gain[c], res.success[c].mean(1)
        best = int(np.argmax(g.mean(1)))
        easy, hard = int(np.argmax(s)), int(np.argmin(s))
        vs_easy = mean_estimate(g[best] - g[easy])
        vs_hard = mean_estimate(g[best] - g[hard])
        best_levels.append(best)
        ok = ok and vs_easy.excludes_zero(+1) and vs_hard.excludes_zero(+1)
        terms += [mg.above(vs_easy), mg.above(vs_hard)]
        parts.append(f"{name}: best {_label(res.levels[best])} {g[best].mean():+.1f} "
                     f"(success {s[best]:.0%}), − easiest {vs_easy.text()}, − hardest "
                     f"{vs_hard.text()}")
        values[name] = {"best": list(res.levels[best]), "best_gain": float(g[best].mean()),
                        "best_success": float(s[best]),
                        "minus_easiest": vs_easy.value,
                        "minus_easiest_ci": [vs_easy.low, vs_easy.high],
                        "minus_hardest": vs_hard.value,
                        "minus_hardest_ci": [vs_hard.low, vs_hard.high],
                        "gain": [float(x) for x in g.mean(1)],
                        "success": [float(x) for x in s]}
    mild_best, severe_best = (res.levels[b] for b in best_levels)
    easier = _ease(severe_best) > _ease(mild_best)
    ok = ok and easier
    values["severe_best_easier"] = bool(easier)
    return Row(11, "challenge point",
               "; ".join(parts) + f"; interaction p={p:.4f} (n={res.gain.shape[2]} each)",
               "the best difficulty differs between mild and severe (interaction p < 0.05) and "
               "is easier for the severe; too easy and too hard both gain less than the best "
               "(CIs > 0) (Guadagnoli & Lee 2004)", bool(ok), values,
               mg.weakest(*terms, mg.holds(easier)))


def assistance(cfg: ValidateConfig, res: ChallengeResult) -> Row:
    """Assistance as needed, at the assessment distance and the lowest precision: in the severe
    cohort light assistance (the lowest non-zero level) beats none and beats full assistance
    (the highest level: slacking), in the mild cohort the mean over the assisted levels is
    below none (paired 95 % CIs excluding 0) (Marchal-Crespo & Reinkensmeyer 2009; Emken et
    al. 2007; Kahn et al. 2006; Rowe et al. 2017)."""
    dist = min(cfg.challenge_distances, key=lambda d: abs(d - cfg.patient.distance))
    precision = min(lv[2] for lv in res.levels)
    at = {lv[1]: i for i, lv in enumerate(res.levels) if lv[0] == dist and lv[2] == precision}
    helped = sorted(a for a in at if a > 0)
    if 0.0 not in at or len(helped) < 2:
        return Row(12, "assistance", f"no unassisted and two assisted levels at {dist} m", "",
                   False, margin=-mg.LIMIT)
    none, light, full = at[0.0], at[helped[0]], at[helped[-1]]
    severe, mild = res.gain[COHORTS.index("severe")], res.gain[COHORTS.index("mild")]
    light_none = mean_estimate(severe[light] - severe[none])
    light_full = mean_estimate(severe[light] - severe[full])
    mild_est = mean_estimate(mild[[at[a] for a in helped]].mean(0) - mild[none])
    passed = (light_none.excludes_zero(+1) and light_full.excludes_zero(+1)
              and mild_est.excludes_zero(-1))
    return Row(12, "assistance",
               f"at {100 * dist:.0f} cm, severe: light ({helped[0]:g}) − none "
               f"{light_none.text()}, light − full ({helped[-1]:g}) {light_full.text()}; "
               f"mild: assisted (mean) − none {mild_est.text()} (n={light_none.n} each)",
               "assistance as needed: light assistance beats none and full for the severe, "
               "assistance hinders the mild (CIs excluding 0) (Marchal-Crespo & "
               "Reinkensmeyer 2009; Emken et al. 2007)",
               passed,
               {"severe_light_minus_none": light_none.value,
                "severe_light_minus_none_ci": [light_none.low, light_none.high],
                "severe_light_minus_full": light_full.value,
                "severe_light_minus_full_ci": [light_full.low, light_full.high],
                "mild": mild_est.value, "mild_ci": [mild_est.low, mild_est.high]},
               mg.weakest(mg.above(light_none), mg.above(light_full), mg.below(mild_est)))


def challenge_figure(cfg: ValidateConfig, res: ChallengeResult) -> Figure:
    """Gain by level: one panel per cohort and precision, distance on the x axis, one line per
    assistance level."""
    precisions = sorted({lv[2] for lv in res.levels})
    fig = Figure(figsize=(10, 3.6 * len(precisions)))
    axes = fig.subplots(len(precisions), len(COHORTS), sharey=True, squeeze=False)
    n = res.gain.shape[2]
    for row, q in enumerate(precisions):
        for c, name in enumerate(COHORTS):
            ax = axes[row, c]
            for k, a in enumerate(cfg.challenge_assistance):
                idx = [i for i, lv in enumerate(res.levels) if lv[1] == a and lv[2] == q]
                d = [100 * res.levels[i][0] for i in idx]
                g = res.gain[c, idx]
                half = 1.96 * g.std(1, ddof=1) / np.sqrt(g.shape[1])
                shift = 0.4 * (k - (len(cfg.challenge_assistance) - 1) / 2)
                ax.errorbar(np.array(d) + shift, g.mean(1), half, marker="o", capsize=2,
                            label=f"assistance {a:g}")
            ax.axhline(0, color="0.5", lw=1)
            ax.set_xticks([100 * d for d in cfg.challenge_distances])
            ax.set(xlabel="reach distance (cm)",
                   title=f"11-12  {name}, precision {q:g} (n={n})")
        axes[row, 0].set_ylabel("gain over no therapy (points, 95 % CI)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


register(11, "challenge_point", "challenge", lambda cfg, d: challenge_point(cfg, d.chal),
         lambda cfg, d, row: challenge_figure(cfg, d.chal), tags=(NEEDS_THERAPY,))
register(12, "assistance", "challenge", lambda cfg, d: assistance(cfg, d.chal),
         tags=(NEEDS_THERAPY,))
