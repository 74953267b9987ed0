"""Scripted therapy schedules and row 10 of the phenomena table: does the therapist matter?

A schedule maps a batch of observations [N, obs_dim] to a batch of MultiDiscrete actions
[N, 4]; it reads only what the observation shows (profile, therapy day). `schedule_comparison`
runs each schedule on the same held-out cohort (same seeds, so the same patients) in the native
vector environment and compares mean final scores with paired tests (numpy only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rehabgym.envs.therapy import (
    OBS_DAY,
    OBS_PROFILE,
    REST,
    TherapyEnvConfig,
    resolve_config,
)
from rehabgym.stats import bootstrap_ci, paired_test  # noqa: F401  (paired_test re-exported)

Schedule = Callable[[np.ndarray], np.ndarray]

SCHEDULES = ("uniform", "worst_first", "one_direction", "no_therapy")


def make_schedule(name: str, config: TherapyEnvConfig, distance: int | None = None,
                  assistance: int = 0, reps: int | None = None) -> Schedule:
    """The schedule `name` for environments of `config` (MultiDiscrete actions).

    - "uniform": round robin over the 8 directions, one per therapy day;
    - "worst_first": the direction with the lowest score in the last assessment;
    - "one_direction": always direction 0;
    - "no_therapy": a rest day every day.
    Practice days use the level indices `distance` (default: the middle one), `assistance`
    and `reps` (default: the middle-upper one).
    """
    if name not in SCHEDULES:
        raise ValueError(f"schedule: unknown {name!r}; allowed: {list(SCHEDULES)}")
    levels = np.array([len(config.distances) // 2 if distance is None else distance, assistance,
                       len(config.repetition_levels) // 2 if reps is None else reps])
    horizon = config.horizon_days

    def act(obs: np.ndarray) -> np.ndarray:
        obs = np.atleast_2d(obs)
        n = obs.shape[0]
        if name == "uniform":
            direction = np.rint(obs[:, OBS_DAY] * horizon).astype(np.int64) % REST
        elif name == "worst_first":
            direction = np.argmin(obs[:, OBS_PROFILE], axis=1)
        elif name == "one_direction":
            direction = np.zeros(n, dtype=np.int64)
        else:
            direction = np.full(n, REST)
        return np.column_stack([direction, np.tile(levels, (n, 1))]).astype(np.int64)

    return act


def schedule_comparison(
    cohort: str = "mixed",
    n_patients: int = 32,
    horizon: int = 30,
    seed: int = 10_000,
    config: TherapyEnvConfig | dict[str, Any] | str | None = None,
    schedules: tuple[str, ...] = SCHEDULES,
    verbose: bool = True,
) -> dict[str, Any]:
    """Row 10: every schedule on the same held-out cohort; mean final score ± 95 % CI, and
    paired tests of each schedule against the best.

    The cohort's patients come from `seed` (sub-environment i gets seed + i): the default is
    far from the small seeds training usually uses, so the cohort is held out. Returns
    {"rows": [...], "best", "worst", "best_vs_worst": paired_test, "table": str}.
    """
    from rehabgym.envs.vector import TherapyVectorEnv

    cfg = resolve_config(config, cohort=cohort, horizon_days=horizon)
    env = TherapyVectorEnv(n_patients, config=cfg)
    finals: dict[str, np.ndarray] = {}
    initial = None
    try:
        for name in schedules:
            act = make_schedule(name, cfg)
            obs, infos = env.reset(seed=seed)
            start = infos["score"].copy()
            if initial is not None and not np.array_equal(initial, start):
                raise RuntimeError("the cohort differs between schedules: seeding is broken")
            initial = start
            for _ in range(cfg.horizon_days):
                obs, _, _, _, infos = env.step(act(obs))
            finals[name] = infos["score"].copy()
    finally:
        env.close()
    means = {name: bootstrap_ci(v, seed=seed) for name, v in finals.items()}
    best = max(means, key=lambda k: means[k][0])
    worst = min(means, key=lambda k: means[k][0])
    rows = []
    for name in schedules:
        m, lo, hi = means[name]
        test = paired_test(finals[best], finals[name], seed=seed) if name != best else None
        rows.append({"schedule": name, "mean": m, "ci_low": lo, "ci_high": hi,
                     "vs_best": test})
    lines = [f"row 10 - the therapist matters: {cohort} cohort, {n_patients} patients, "
             f"{cfg.horizon_days} days from day {cfg.start_day}, seeds {seed}..",
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
    table = "\n".join(lines)
    if verbose:
        print(table)
    return {"rows": rows, "best": best, "worst": worst, "initial": initial, "finals": finals,
            "best_vs_worst": paired_test(finals[best], finals[worst], seed=seed)
            if best != worst else None, "table": table}
