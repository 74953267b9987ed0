"""Row 10, the therapist matters: fixed schedules on one held-out cohort.

The schedules are heuristic therapists of the registry at fixed levels (10 cm, no assistance,
60 repetitions); each treats the same held-out patients (same seeds) through the cohort
runner of `rehabgym.evaluation`, and their mean final scores are compared with paired
permutation tests against the best.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rehabgym.envs.config import TherapyEnvConfig, resolve_config
from rehabgym.envs.registration import ENV_IDS
from rehabgym.evaluation import run_cohort
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.table import Row
from rehabgym.stats import bootstrap_ci, paired_test
from rehabgym.therapists import heuristic_factory

#: the schedules compared, by their names in the table, as therapist specs
SCHEDULES = {"uniform": "round_robin(assistance=0)", "worst_first": "worst_first(assistance=0)",
             "one_direction": "one_direction(assistance=0)", "no_therapy": "no_therapy"}
#: first seed of row 10's held-out patients, far from the small seeds training uses
HELD_OUT_SEED = 10_000


def schedule_comparison(config: TherapyEnvConfig, n_patients: int, seed: int = HELD_OUT_SEED
                        ) -> dict[str, Any]:
    """Every schedule of `SCHEDULES` on the same `n_patients` patients (seeds `seed`,
    `seed + 1`, ...) of environments of `config`; mean final score ± 95 % bootstrap CI, and
    paired tests of each schedule against the best. Returns {"rows", "best", "worst",
    "initial", "finals", "best_vs_worst", "table"}."""
    seeds = [seed + i for i in range(n_patients)]
    kwargs = {"config": config, "max_episode_steps": config.horizon_days}
    results = run_cohort({name: heuristic_factory(spec) for name, spec in SCHEDULES.items()},
                         ENV_IDS[0], kwargs, seeds)
    initial = results["no_therapy"].initial
    if any(not np.array_equal(r.initial, initial) for r in results.values()):
        raise RuntimeError("the cohort differs between schedules: seeding is broken")
    finals = {name: r.final for name, r in results.items()}
    means = {name: bootstrap_ci(v, seed=seed) for name, v in finals.items()}
    best = max(means, key=lambda k: means[k][0])
    worst = min(means, key=lambda k: means[k][0])
    rows = []
    for name in SCHEDULES:
        m, lo, hi = means[name]
        test = paired_test(finals[best], finals[name], seed=seed) if name != best else None
        rows.append({"schedule": name, "mean": m, "ci_low": lo, "ci_high": hi,
                     "vs_best": test})
    lines = [f"row 10 - the therapist matters: {n_patients} patients, {config.horizon_days} "
             f"days from day {config.start_day}, seeds {seed}..",
             f"initial score {initial.mean():.2f} (same patients for every schedule)",
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
            "best_vs_worst": paired_test(finals[best], finals[worst], seed=seed)
            if best != worst else None, "table": "\n".join(lines)}


def therapist_matters(cfg: ValidateConfig) -> Row:
    """Row 10 on the mixed cohort with the validated patient (its plasticity included)."""
    env = resolve_config(TherapyEnvConfig(patient=cfg.patient), cohort="mixed",
                         horizon_days=cfg.row10_days)
    res = schedule_comparison(env, cfg.row10_patients)
    means = {r["schedule"]: r["mean"] for r in res["rows"]}
    test = res["best_vs_worst"]
    return Row(10, "the therapist matters",
               ", ".join(f"{k}: {v:.1f}" for k, v in means.items())
               + f"; best − worst {test['mean_diff']:.1f} (p={test['p']:.4f})",
               "best and worst sensible schedules differ clearly in final score",
               bool(test["mean_diff"] > 5 and test["p"] < 0.05),
               {"means": means, "best_vs_worst": test})
