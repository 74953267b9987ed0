"""`rehabgym calibrate`: the patient's parameters searched against the phenomena table.

The next patient's parameters come from a documented search on the tuning seeds, never on the
held-out ones (issue 45, decisions 1 and 6). Each trial sets the searched parameters (dotted
paths into `ValidateConfig`, e.g. `patient.plasticity.output_covariance`), runs `validate` on
every tuning seed, pools the seeds as `rehabgym pool` does and scores the pooled table: the sum
over its rows of each row's margin (`margins`: > 0 exactly when the row passes, in half-widths
of its CI), each clipped to [-`worst`, `best`] so that no row's surplus pays for another's
failure. Optuna's TPE sampler proposes the trials; the first is the parameters as they are
(the patient before calibration) when the space holds them. The study lives in
`out/study.db` (SQLite, data only), so a killed search continues when run again with the same
folder; each trial's runs and pooled table stay in `out/trials/<n>/`. The best trial's
patient (its parameters and every other setting the search was given, the checkpoint
included) goes to `out/calibrated.yaml`, a `ValidateConfig` override that `rehabgym validate
--config` reads.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from contextlib import redirect_stdout
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import yaml
from tqdm import tqdm

from rehabgym.atomic import write_text
from rehabgym.config import (
    ConfigError,
    Count,
    NonNegative,
    NonNegativeInt,
    check_fields,
    from_dict,
    save_config,
    to_dict,
)
from rehabgym.healthy.checkpoint import checkpoint_digest
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.stages import open_study

#: the seeds parameters are chosen on, and those kept to check the result (decision 1)
TUNING_SEEDS = (0, 1, 2)
HELD_OUT_SEEDS = (3, 4, 5)


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a dotted path to a number in `ValidateConfig` and its range."""

    path: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.low < self.high or (self.log and self.low <= 0):
            raise ConfigError(f"space: {self.path}: need low < high (and low > 0 on a log "
                              f"scale), got [{self.low}, {self.high}]")


#: the plasticity rules' rates and the row-6 mechanisms measured so far (design.md)
DEFAULT_SPACE = (
    Dimension("patient.plasticity.learning_rate", 5e-5, 8e-4, log=True),
    Dimension("patient.plasticity.output_learning_rate", 1e-4, 1.6e-3, log=True),
    Dimension("patient.plasticity.output_covariance", 0.0, 0.9),
    Dimension("patient.plasticity.error_weight", 0.0, 0.5),
    Dimension("patient.plasticity.axon_sprout_rate", 0.25, 2.0, log=True),
    Dimension("patient.plasticity.spinal_scaling_rate", 0.0, 0.5),
)


@dataclass
class CalibrateConfig:
    """Every default of `rehabgym calibrate`.

    Attributes:
        trials: trials in all (a study continued with more adds trials).
        seeds: the validation seeds a trial pools (tuning seeds only: never 3-5).
        space: the searched parameters.
        validate: the patient and its parameters not searched, the rows scored (`rows`), and
            with `cohort: as given` the cohort and experiments each seed runs.
        cohort: "quick": `ValidateConfig.quick` of `validate` (its sizes replaced by the
            quick version's, a few minutes a seed); "as given": `validate` as it is.
        best, worst: each row's margin is clipped to [-worst, best] in the objective.
        sampler_seed: the TPE sampler's seed.
        workers: processes the seeds of a trial run on (default: the cores, at most the seeds).
    """

    trials: Count = 24
    seeds: tuple[NonNegativeInt, ...] = TUNING_SEEDS
    space: tuple[Dimension, ...] = DEFAULT_SPACE
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    cohort: Literal["quick", "as given"] = "quick"
    best: NonNegative = 1.0
    worst: NonNegative = 3.0
    sampler_seed: NonNegativeInt = 0
    workers: Count | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        held = sorted(set(self.seeds) & set(HELD_OUT_SEEDS))
        if held or not self.seeds or len(set(self.seeds)) < len(self.seeds):
            raise ConfigError(f"seeds: distinct tuning seeds, none of the held-out "
                              f"{list(HELD_OUT_SEEDS)}; got {list(self.seeds)}")
        if len({d.path for d in self.space}) < len(self.space) or not self.space:
            raise ConfigError(f"space: at least one parameter, each once; got "
                              f"{[d.path for d in self.space]}")
        for d in self.space:  # every path names a number the config accepts at both ends
            for value in (d.low, d.high):
                with_value(self.validate, {d.path: value})

    @property
    def measured(self) -> ValidateConfig:
        """The config each seed of a trial runs (before the trial's parameters)."""
        return ValidateConfig.quick(self.validate) if self.cohort == "quick" else self.validate


def with_value(cfg: ValidateConfig, params: dict[str, float]) -> ValidateConfig:
    """`cfg` with each dotted path of `params` set (checked as a YAML override is; an integer
    setting takes the nearest integer)."""
    data = to_dict(cfg)
    for path, value in params.items():
        *parents, key = path.split(".")
        node: Any = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or key not in node:
            raise ConfigError(f"space: {path}: no such setting in ValidateConfig")
        old = node[key]
        if isinstance(old, bool) or not isinstance(old, (int, float)):
            raise ConfigError(f"space: {path}: not a number ({old!r})")
        node[key] = round(value) if isinstance(old, int) else float(value)
    return from_dict(ValidateConfig, data)


def override(cfg: ValidateConfig, params: dict[str, float]) -> dict[str, Any]:
    """The YAML override of `ValidateConfig` that makes the calibrated patient: every setting
    of `cfg.patient` with `params` set that differs from the defaults (the checkpoint, say),
    threads aside; the cohort stays validate's own."""
    def differing(new: Any, old: Any) -> Any:
        if isinstance(new, dict):
            out = {k: d for k, v in new.items()
                   if (d := differing(v, old.get(k))) is not None}
            return out or None
        return None if new == old else new

    final = to_dict(with_value(cfg, params).patient)
    final["nthread"] = ValidateConfig().patient.nthread
    patient = differing(final, to_dict(ValidateConfig().patient))
    return {"patient": patient} if patient else {}


def _validate_seed(cfg: ValidateConfig, out: str) -> None:
    """One seed of a trial (on a worker): validate's table and stages in `out` (the table is
    saved there, not printed)."""
    from rehabgym.phenomena.validate import validate

    with redirect_stdout(io.StringIO()):
        validate(cfg, Path(out), progress=False)


def objective_of(margins: dict[int, float], best: float, worst: float) -> float:
    """The trial's score: each row's margin clipped to [-worst, best], summed."""
    return float(sum(min(best, max(-worst, m)) for m in margins.values()))


def calibrate(cfg: CalibrateConfig, out: Path, progress: bool = True) -> dict[str, Any]:
    """Run (or continue) the search in `out`; write `calibrated.yaml`, `trials.csv`,
    `summary.json` and `config.yaml`; return the summary. A study continued with other
    settings (anything but `trials` and `workers`) is a ConfigError."""
    import optuna  # a second of imports, for this command only

    from rehabgym.phenomena.pool import pool

    states = optuna.trial.TrialState
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    workers = min(cfg.workers or os.cpu_count() or 1, len(cfg.seeds))
    measured = cfg.measured if workers == 1 else replace(
        cfg.measured, patient=replace(cfg.measured.patient, nthread=1))
    start = {d.path: float(_get(cfg.validate, d.path)) for d in cfg.space}
    pool_exec = (ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
                 if workers > 1 else None)

    def objective(trial: Any) -> float:
        params = {d.path: trial.suggest_float(d.path, d.low, d.high, log=d.log)
                  for d in cfg.space}
        folder = out / "trials" / f"{trial.number:04d}"
        runs = [folder / f"seed{s}" for s in cfg.seeds]
        configs = [replace(with_value(measured, params), seed=s) for s in cfg.seeds]
        if pool_exec is None:
            for c, run in zip(configs, runs):
                _validate_seed(c, str(run))
        else:
            for f in [pool_exec.submit(_validate_seed, c, str(r)) for c, r in zip(configs, runs)]:
                f.result()
        with redirect_stdout(io.StringIO()):
            rows = [r for r in pool(runs, folder / "pooled")
                    if cfg.validate.rows is None or r.number in cfg.validate.rows]
        margins = {r.number: float(r.margin) for r in rows}
        trial.set_user_attr("margins", {str(k): v for k, v in margins.items()})
        trial.set_user_attr("passed", [r.number for r in rows if r.passed])
        return objective_of(margins, cfg.best, cfg.worst)

    try:
        settings = json.loads(json.dumps(to_dict(cfg)))
        settings = {k: v for k, v in settings.items() if k not in ("trials", "workers")}
        settings["validate"]["patient"].pop("nthread", None)
        settings["checkpoint"] = checkpoint_digest(cfg.validate.patient.checkpoint)
        study, killed = open_study(out, "calibrate", settings, cfg.sampler_seed)
        save_config(cfg, out / "config.yaml")
        for number in killed:  # a killed trial's runs: measured again by a new trial
            shutil.rmtree(out / "trials" / f"{number:04d}", ignore_errors=True)
        inside = all(d.low <= start[d.path] <= d.high for d in cfg.space)
        if inside and not any(t.params == start or t.system_attrs.get("fixed_params") == start
                              for t in study.trials
                              if t.state in (states.COMPLETE, states.WAITING)):
            study.enqueue_trial(start)  # the patient as it is, when the space holds it
        def done() -> int:
            return sum(t.state == states.COMPLETE for t in study.trials)

        failed = 0
        with tqdm(total=cfg.trials, initial=min(done(), cfg.trials), desc="calibrate",
                  unit="trial", disable=not progress) as bar:
            while done() < cfg.trials and failed <= cfg.trials:
                # a trial whose parameters the patient refuses, or whose arm diverges, fails
                # alone (recorded as failed) and the search goes on
                study.optimize(objective, n_trials=1, catch=(ConfigError, FloatingPointError))
                if study.trials[-1].state == states.COMPLETE:
                    bar.update(1)
                    bar.set_postfix(best=f"{study.best_value:.2f}")
                else:
                    failed += 1
    finally:
        optuna.logging.set_verbosity(level)
        if pool_exec is not None:
            pool_exec.shutdown(cancel_futures=True)
    complete = sorted((t for t in study.trials if t.state == states.COMPLETE),
                      key=lambda t: t.number)[:cfg.trials]
    if not complete:
        raise ConfigError(f"space: every trial in {out} failed; see the trials' folders")
    best = max(complete, key=lambda t: t.value)
    first = complete[0] if complete and complete[0].params == start else None
    summary = {"best_trial": best.number, "objective": float(best.value),
               "params": best.params, "passed": best.user_attrs["passed"],
               "margins": best.user_attrs["margins"],
               "start_objective": None if first is None else float(first.value),
               "start_passed": None if first is None else first.user_attrs["passed"],
               "trials": len(complete), "seeds": list(cfg.seeds),
               "table": str(out / "trials" / f"{best.number:04d}" / "pooled")}
    write_text(out / "calibrated.yaml",
               yaml.safe_dump(override(cfg.validate, best.params), sort_keys=False))
    write_text(out / "summary.json", json.dumps(summary, indent=1))
    write_text(out / "trials.csv", _trials_csv(complete, cfg))
    return summary


def _get(cfg: ValidateConfig, path: str) -> Any:
    node: Any = cfg
    for key in path.split("."):
        node = getattr(node, key)
    return node


def _trials_csv(trials: list[Any], cfg: CalibrateConfig) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rows = sorted({int(k) for t in trials for k in t.user_attrs.get("margins", {})})
    writer.writerow(["trial", "objective", "passed", *(d.path for d in cfg.space),
                     *(f"margin_row{r}" for r in rows)])
    for t in trials:
        m = t.user_attrs.get("margins", {})
        writer.writerow([t.number, f"{t.value:.4f}", len(t.user_attrs.get("passed", [])),
                         *(f"{t.params[d.path]:.6g}" for d in cfg.space),
                         *(f"{m[str(r)]:.3f}" if str(r) in m else "" for r in rows)])
    return buffer.getvalue()
