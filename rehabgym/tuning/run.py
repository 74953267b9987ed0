"""`rehabgym tune`: a heuristic's parameters tuned with Optuna on training patients.

Every trial treats the same training patients (seeds `seed` …, never the held-out seeds from
1,000,000 on that comparisons use) for one episode and scores the mean return, the quantity a
learned therapist maximises. The budget is counted in simulated therapy days, as a training
run's is, so a tuned rule and a learned therapist can be given the same simulation. The study
lives in `out/study.db` (SQLite, data only): a killed run continues where it stopped when run
again with the same folder. The best parameters go to `out/tuned.yaml`, which a therapist spec
loads: `adaptive(params='<out>/tuned.yaml')`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from rehabgym.atomic import write_text
from rehabgym.config import ConfigError, Count, NonNegativeInt, check_fields, save_config, to_dict
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.evaluation.cohort import run_batch
from rehabgym.evaluation.engine import on_one_thread
from rehabgym.stages import open_study
from rehabgym.therapists import heuristic_factory
from rehabgym.therapists.registry import format_spec
from rehabgym.tuning.space import LADDER, SEARCH_SPACES, check_tunable

ENV_ID = "rehabgym/Therapy-v2"
#: the first seed of the held-out patients that comparisons use: training seeds stay below
HELD_OUT_SEED = 1_000_000


def _default_env() -> TherapyEnvConfig:
    """The long training config's environment: 30 days, all directions, a cheap repetition."""
    return TherapyEnvConfig(all_directions=True, cost_per_rep=0.0005)


@dataclass
class TuneConfig:
    """Every default of `rehabgym tune`.

    Attributes:
        therapist: the heuristic to tune (one of `SEARCH_SPACES`).
        budget_days: simulated therapy days in all (trials × patients × horizon); the long
            training config's 28,800 gives a tuned rule the simulation a learner gets.
        patients: training patients every trial treats (the same ones: paired trials).
        seed: first training patient seed, and the sampler's seed.
        workers: processes a trial's patients are split over (None: the cores).
        env: the environment the therapist is tuned in.
    """

    therapist: str = "adaptive"
    budget_days: Count = 28_800
    patients: Count = 16
    seed: NonNegativeInt = 0
    workers: Count | None = None
    env: TherapyEnvConfig = field(default_factory=_default_env)

    def __post_init__(self) -> None:
        check_fields(self)
        check_tunable(self.therapist)
        if self.budget_days < self.trial_days:
            raise ConfigError(f"budget_days: {self.budget_days} is less than one trial "
                              f"({self.patients} patients × {self.env.horizon_days} days = "
                              f"{self.trial_days})")
        if self.seed + self.patients > HELD_OUT_SEED:
            last = self.seed + self.patients - 1
            raise ConfigError(f"seed: training patients {self.seed}..{last} reach the held-out "
                              f"seeds (from {HELD_OUT_SEED})")

    @property
    def trial_days(self) -> int:
        return self.patients * self.env.horizon_days

    @property
    def trials(self) -> int:
        return self.budget_days // self.trial_days


def _returns(spec: str, seeds: list[int], kwargs: dict[str, Any]) -> list[float]:
    """Each seeded patient's return under the heuristic `spec` (one batch, on a worker)."""
    rows = run_batch([heuristic_factory(spec)] * len(seeds), seeds, ENV_ID, kwargs)
    return [float(r["rewards"].sum()) for r in rows]


def tune(cfg: TuneConfig, out: Path, progress: bool = True) -> dict[str, Any]:
    """Run (or continue) the study in `out`; write `tuned.yaml`, `trials.csv` and
    `config.yaml`; return the tuned file's content. A study continued with other settings
    than it was started with (the therapist, patients, seed or environment) is a ConfigError;
    a larger budget adds trials, and the result is the best of the budget's first trials."""
    import optuna  # a second of imports, for this command only

    suggest, defaults = SEARCH_SPACES[cfg.therapist]
    untuned = defaults(cfg.env)
    states = optuna.trial.TrialState
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    try:
        settings = json.loads(json.dumps(to_dict(cfg)))
        settings = {k: v for k, v in settings.items() if k not in ("budget_days", "workers")}
        study, _ = open_study(out, f"tune-{cfg.therapist}", settings, cfg.seed)
        save_config(cfg, out / "config.yaml")
        if not any(t.params == untuned or t.system_attrs.get("fixed_params") == untuned
                   for t in study.trials if t.state in (states.COMPLETE, states.WAITING)):
            study.enqueue_trial(untuned)  # the untuned heuristic is always one of the trials
        done = sum(t.state == states.COMPLETE for t in study.trials)
        _run_trials(study, cfg, suggest, cfg.trials - done, done, progress)
    finally:
        optuna.logging.set_verbosity(level)
    complete = sorted((t for t in study.trials if t.state == states.COMPLETE),
                      key=lambda t: t.number)[:cfg.trials]
    best = max(complete, key=lambda t: t.value)
    params = {k: v for k, v in best.params.items() if not (k == "distance" and v == LADDER)}
    first = next((t for t in complete if t.params == untuned), None)
    seeds = [cfg.seed, cfg.seed + cfg.patients - 1]
    result = {"therapist": cfg.therapist, "params": params, "spec": best.user_attrs["spec"],
              "mean_return": float(best.value),
              "untuned_mean_return": None if first is None else float(first.value),
              "trials": len(complete), "budget_days": len(complete) * cfg.trial_days,
              "patients": seeds, "env": to_dict(cfg.env)}
    write_text(out / "tuned.yaml", yaml.safe_dump(result, sort_keys=False))
    write_text(out / "trials.csv", _trials_csv(complete))
    return result


def _run_trials(study: Any, cfg: TuneConfig, suggest: Any, n: int, done: int,
                progress: bool) -> None:
    """`n` more trials of `study`, each trial's patients split over the workers."""
    workers = min(cfg.workers or os.cpu_count() or 1, cfg.patients)
    seeds = list(range(cfg.seed, cfg.seed + cfg.patients))
    chunks = [list(c) for c in np.array_split(seeds, workers) if len(c)]
    kwargs = {"config": to_dict(cfg.env), "max_episode_steps": cfg.env.horizon_days}
    if workers > 1:
        kwargs = on_one_thread(kwargs)
    pool = (ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
            if workers > 1 and n > 0 else None)

    def objective(trial: Any) -> float:
        spec = format_spec(cfg.therapist, suggest(trial, cfg.env))
        if pool is None:
            values = _returns(spec, seeds, kwargs)
        else:
            futures = [pool.submit(_returns, spec, c, kwargs) for c in chunks]
            values = [v for f in futures for v in f.result()]
        trial.set_user_attr("spec", spec)
        return float(np.mean(values))

    try:
        with tqdm(total=cfg.trials, initial=min(done, cfg.trials), desc="tune", unit="trial",
                  disable=not progress) as bar:
            for _ in range(max(n, 0)):
                study.optimize(objective, n_trials=1)
                bar.update(1)
                bar.set_postfix(best=f"{study.best_value:.2f}")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _trials_csv(trials: list[Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["trial", "spec", "mean_return"])
    for t in trials:
        writer.writerow([t.number, t.user_attrs.get("spec", ""), f"{t.value:.4f}"])
    return buffer.getvalue()
