"""Row 10, the therapist matters: fixed schedules on one held-out cohort.

The schedules are heuristic therapists of the registry at fixed levels (10 cm, no assistance,
60 repetitions); each treats the same held-out patients (same seeds, which follow the
validation seed) through the cohort runner of `rehabgym.evaluation`, and their mean final
scores are compared with paired permutation tests against the best. The row compares therapy
schedules with each other: no therapy is shown for reference only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rehabgym.envs.config import TherapyEnvConfig, resolve_config
from rehabgym.envs.registration import ENV_IDS
from rehabgym.evaluation import run_cohort
from rehabgym.phenomena import margins as mg
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.registry import NEEDS_THERAPIST, NEEDS_THERAPY, register
from rehabgym.phenomena.table import Row
from rehabgym.stats import ALPHA, bootstrap_ci, paired_test
from rehabgym.therapists import heuristic_factory

#: the schedules compared, by their names in the table, as therapist specs
SCHEDULES = {"uniform": "round_robin(assistance=0)", "worst_first": "worst_first(assistance=0)",
             "one_direction": "one_direction(assistance=0)", "no_therapy": "no_therapy"}
#: first seed of row 10's held-out patients at validation seed 0 (seed s: + 1000 s), far from
#: the cohort's own seeds and from the small seeds training uses
HELD_OUT_SEED = 10_000
#: the schedules row 10 compares (no therapy is not one of them)
THERAPIES = ("uniform", "worst_first", "one_direction")


def schedule_comparison(config: TherapyEnvConfig, n_patients: int, seed: int = HELD_OUT_SEED
                        ) -> dict[str, Any]:
    """Every schedule of `SCHEDULES` on the same `n_patients` patients (seeds `seed`,
    `seed + 1`, ...) of environments of `config`; mean final score ± 95 % bootstrap CI, and
    paired tests of each schedule against the best therapy. Returns {"rows", "best",
    "worst" (of `THERAPIES`), "initial", "finals", "best_vs_worst", "table"}."""
    seeds = [seed + i for i in range(n_patients)]
    kwargs = {"config": config, "max_episode_steps": config.horizon_days}
    results = run_cohort({name: heuristic_factory(spec) for name, spec in SCHEDULES.items()},
                         ENV_IDS[0], kwargs, seeds)
    initial = results["no_therapy"].initial
    if any(not np.array_equal(r.initial, initial) for r in results.values()):
        raise RuntimeError("the cohort differs between schedules: seeding is broken")
    finals = {name: r.final for name, r in results.items()}
    return compare_finals(finals, initial, seed, f"row 10 - the therapist matters: {n_patients} "
                          f"patients, {config.horizon_days} days from day {config.start_day}, "
                          f"seeds {seed}..")


def compare_finals(finals: dict[str, np.ndarray], initial: np.ndarray, seed: int, title: str
                   ) -> dict[str, Any]:
    """The schedules' final scores on the same patients: mean ± 95 % bootstrap CI, paired
    tests of each against the best therapy, the best and worst of `THERAPIES`."""
    means = {name: bootstrap_ci(v, seed=seed) for name, v in finals.items()}
    best = max(THERAPIES, key=lambda k: means[k][0])
    worst = min(THERAPIES, key=lambda k: means[k][0])
    rows = []
    for name in finals:
        m, lo, hi = means[name]
        test = paired_test(finals[best], finals[name], seed=seed) if name != best else None
        rows.append({"schedule": name, "mean": m, "ci_low": lo, "ci_high": hi,
                     "vs_best": test})
    lines = [title, f"initial score {initial.mean():.2f} (same patients for every schedule)",
             f"{'schedule':<14} {'final score':>12} {'95% CI':>16} {'best - this':>12} "
             f"{'95% CI':>16} {'p':>8}"]
    for r in rows:
        line = f"{r['schedule']:<14} {r['mean']:12.2f} [{r['ci_low']:6.2f}, {r['ci_high']:6.2f}]"
        if r["vs_best"] is not None:
            t = r["vs_best"]
            line += (f" {t['mean_diff']:12.2f} [{t['ci_low']:6.2f}, {t['ci_high']:6.2f}] "
                     f"{t['p']:8.4f}")
        else:
            line += f" {'(best)':>12}"
        lines.append(line)
    return {"rows": rows, "best": best, "worst": worst, "initial": initial, "finals": finals,
            "best_vs_worst": paired_test(finals[best], finals[worst], seed=seed),
            "table": "\n".join(lines)}


def held_out_seed(cfg: ValidateConfig) -> int:
    """First seed of row 10's held-out patients at the validation seed of `cfg`."""
    return HELD_OUT_SEED + 1000 * cfg.seed


def therapist_finals(cfg: ValidateConfig) -> dict[str, np.ndarray]:
    """Row 10's experiment as data: each schedule of `SCHEDULES` on the mixed cohort with the
    validated patient (its plasticity included), the held-out patients following the
    validation seed; {"initial": scores, name: final scores} over the same patients."""
    env = resolve_config(TherapyEnvConfig(patient=cfg.patient), cohort="mixed",
                         horizon_days=cfg.row10_days)
    res = schedule_comparison(env, cfg.row10_patients, held_out_seed(cfg))
    return {"initial": res["initial"], **res["finals"]}


def therapist_matters(cfg: ValidateConfig, finals: dict[str, np.ndarray] | None = None) -> Row:
    """Row 10: the best and the worst therapy schedule differ in final score (paired, p <
    0.05, bootstrap CI excluding 0), on `finals` (`therapist_finals`'s; default: run it)."""
    data = therapist_finals(cfg) if finals is None else finals
    n = len(data["initial"])
    return therapist_row(compare_finals(
        {name: np.asarray(data[name]) for name in SCHEDULES}, np.asarray(data["initial"]),
        held_out_seed(cfg), f"row 10 - the therapist matters: {n} patients"))


def therapist_row(res: dict[str, Any]) -> Row:
    """Row 10's criterion on a schedule comparison (`compare_finals`'s result)."""
    means = {r["schedule"]: r["mean"] for r in res["rows"]}
    test = res["best_vs_worst"]
    return Row(10, "the therapist matters",
               ", ".join(f"{k}: {v:.1f}" for k, v in means.items())
               + f"; best − worst therapy ({res['best']} − {res['worst']}) "
               f"{test['mean_diff']:.1f} [{test['ci_low']:.1f}, {test['ci_high']:.1f}] "
               f"(p={test['p']:.4f})",
               "the best and worst therapy schedules differ in final score (paired p < 0.05, "
               "CI excluding 0; no therapy for reference)",
               bool(test["mean_diff"] > 0 and test["ci_low"] > 0 and test["p"] < ALPHA),
               {"means": means, "best": res["best"], "worst": res["worst"],
                "best_vs_worst": test},
               mg.weakest(mg.condition(test["mean_diff"] > 0 and test["ci_low"] > 0,
                                       test["ci_low"], (test["ci_high"] - test["ci_low"]) / 2),
                          mg.p_below(test["p"])))


register(10, "therapist_matters", "therapist", lambda cfg, d: therapist_matters(cfg, d.finals),
         tags=(NEEDS_THERAPY, NEEDS_THERAPIST))
