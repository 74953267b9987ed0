"""The `rehabgym` console command. It only parses: the work lives in the subcommands' modules.

Adding a subcommand: write `_add_<name>(sub)` that creates its parser and sets `func` (a
function taking the parsed `argparse.Namespace`), and list it in `SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from rehabgym.atomic import write_text
from rehabgym.bench import (
    bench_all,
    bench_arm,
    bench_cortex,
    bench_env,
    bench_floor,
    bench_memory,
    bench_patient,
    bench_train,
    bench_trial,
)
from rehabgym.config import ConfigError, load_config, load_yaml, save_config
from rehabgym.cortex.plasticity import RULES
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.evaluation import compare_therapists
from rehabgym.evaluation.schedules import SchedulesConfig, search_schedules
from rehabgym.healthy.checkpoint import load_checkpoint
from rehabgym.healthy.criteria import check_healthy
from rehabgym.healthy.demo import DemoConfig, run_demo
from rehabgym.healthy.pretrain import PretrainConfig, pretrain
from rehabgym.phenomena import ValidateConfig, validate
from rehabgym.phenomena.calibrate import CalibrateConfig, calibrate
from rehabgym.phenomena.pool import pool
from rehabgym.phenomena.validate import selected_rows
from rehabgym.runtime.heap import limit_heap
from rehabgym.training import load_train_config, train
from rehabgym.training.config import DEFAULT_EXPERIMENT
from rehabgym.training.warm_start import clone_heuristic
from rehabgym.trials import BACKENDS, TrialConfig, run_trial, write_report
from rehabgym.tuning import TuneConfig, tune


def _configured(cls: type, path: str | None, given: dict) -> Any:
    """`cls`'s defaults, overridden by the YAML at `path`, then by the options given (None:
    not given)."""
    cfg = load_config(cls, path)
    return cls(**{**vars(cfg), **{k: v for k, v in given.items() if v is not None}})


def _timestamped(root: str) -> Path:
    return Path(root) / datetime.now().strftime("%Y%m%d-%H%M%S")


def _checked(cast: Callable[[str], float], ok: Callable[[float], bool], what: str
             ) -> Callable[[str], float]:
    """An argparse type: `cast(text)` when it converts and passes `ok`, else a usage error
    saying it must be `what`."""
    def parse(text: str) -> float:
        try:
            value = cast(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


_count = _checked(int, lambda v: v >= 1, "an integer >= 1")  # patients, reaches, days
_positive = _checked(float, lambda v: v > 0, "a number > 0")  # seconds


# ---------------------------------------------------------------- demo
def _run_demo(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else _timestamped("runs/demo")
    cfg = DemoConfig(seed=args.seed, batch=args.batch, render=not args.no_render)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    write_text(out / "command.txt", " ".join(["rehabgym", *args.argv]) + "\n")
    run_demo(out, config=cfg)
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="center-out reaches with a model-based controller (no network)")
    p.add_argument("--out", help="output folder (default: runs/demo/<timestamp>/)")
    p.add_argument("--seed", type=int, default=0, help="seed of the motor noise (default 0)")
    p.add_argument("--batch", type=_count, default=8, help="number of reaches (default 8)")
    p.add_argument("--no-render", action="store_true", help="skip the OpenGL arm pictures")
    p.set_defaults(func=_run_demo)


# ---------------------------------------------------------------- bench
def _run_bench_all(args: argparse.Namespace) -> int:
    bench_all()
    return 0


def _run_bench_arm(args: argparse.Namespace) -> int:
    bench_arm(tuple(args.batch_sizes), seconds=args.seconds, nthread=args.nthread)
    return 0


def _run_bench_env(args: argparse.Namespace) -> int:
    bench_env(num_envs=args.num_envs, days=args.days, config=args.config)
    return 0


def _run_bench_floor(args: argparse.Namespace) -> int:
    bench_floor(num_envs=args.num_envs, episodes=args.episodes, config=args.config,
                threads=args.threads)
    return 0


def _run_bench_train(args: argparse.Namespace) -> int:
    bench_train(args.config, rounds=args.rounds)
    return 0


def _run_bench_cortex(args: argparse.Namespace) -> int:
    bench_cortex(batch=args.batch)
    return 0


def _run_bench_patient(args: argparse.Namespace) -> int:
    bench_patient(days=args.days, reps=args.reps, one_core=not args.all_cores)
    return 0


def _run_bench_memory(args: argparse.Namespace) -> int:
    bench_memory(tuple(args.sizes), days=args.days, reps=args.reps)
    return 0


def _run_bench_trial(args: argparse.Namespace) -> int:
    runs = tuple((b, w) for b in args.backends for w in args.workers)
    bench_trial(patients=args.patients, days=args.days, chunk=args.chunk, runs=runs)
    return 0


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="speed benchmarks as ratios (no subcommand: all of them, "
                       "then a summary against their targets)")
    p.set_defaults(func=_run_bench_all)
    which = p.add_subparsers(dest="bench")
    a = which.add_parser("arm", help="closed-loop Arm.step vs raw mujoco.rollout")
    a.add_argument("--batch-sizes", type=_count, nargs="+", default=[1, 64, 512])
    a.add_argument("--seconds", type=_positive, default=1.0, help="simulated seconds per arm")
    a.add_argument("--nthread", type=_count, default=None, help="threads (default: all cores)")
    a.set_defaults(func=_run_bench_arm)
    e = which.add_parser("env", help="native TherapyVectorEnv vs SyncVectorEnv, patient-days/s")
    e.add_argument("--num-envs", type=_count, default=16, help="patients (default 16)")
    e.add_argument("--days", type=_count, default=3, help="therapy days timed (default 3)")
    e.add_argument("--config", default=None, help="environment YAML (default: the defaults)")
    e.set_defaults(func=_run_bench_env)
    f = which.add_parser("floor", help="native env vs the arm alone on the same reaches")
    f.add_argument("--num-envs", type=_count, default=8,
                   help="patients (default 8: a training shard's on 2 cores)")
    f.add_argument("--episodes", type=_count, default=1, help="episodes timed (default 1)")
    f.add_argument("--threads", type=_count, default=1, help="threads (default 1)")
    f.add_argument("--config", default=None, help="environment YAML (default: the defaults)")
    f.set_defaults(func=_run_bench_floor)
    tr = which.add_parser("train", help="training (rollouts + updates) vs its env, days/s")
    tr.add_argument("--config", default=None,
                    help=f"experiment YAML (default: {DEFAULT_EXPERIMENT})")
    tr.add_argument("--rounds", type=_count, default=2, help="rollouts timed (default 2)")
    tr.set_defaults(func=_run_bench_train)
    c = which.add_parser("cortex", help="reaches with the cortex in the loop vs the arm alone")
    c.add_argument("--batch", type=_count, default=64)
    c.set_defaults(func=_run_bench_cortex)
    pt = which.add_parser("patient", help="therapy days per second; cost of plasticity")
    pt.add_argument("--days", type=_count, default=5, help="days timed per patient (default 5)")
    pt.add_argument("--reps", type=_count, default=60)
    pt.add_argument("--all-cores", action="store_true",
                    help="run unpinned (default: pinned to one core, as the targets are stated)")
    pt.set_defaults(func=_run_bench_patient)
    m = which.add_parser("memory", help="peak memory per patient of a batch (fresh processes)")
    m.add_argument("--sizes", type=_count, nargs="+", default=[4, 32], help="batch sizes")
    m.add_argument("--days", type=_count, default=2)
    m.add_argument("--reps", type=_count, default=60)
    m.set_defaults(func=_run_bench_memory)
    t = which.add_parser("trial", help="patient-days per second of a small trial per backend "
                         "and number of workers")
    t.add_argument("--patients", type=_count, default=16)
    t.add_argument("--days", type=_count, default=5, help="horizon (default 5)")
    t.add_argument("--chunk", type=_count, default=4, help="patients per chunk (default 4)")
    t.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    t.add_argument("--workers", type=_count, nargs="+", default=[1, 2])
    t.set_defaults(func=_run_bench_trial)


# ---------------------------------------------------------------- cortex: pretrain / evaluate
def _run_pretrain(args: argparse.Namespace) -> int:
    cfg = load_config(PretrainConfig, args.config)
    out = Path(args.out) if args.out else _timestamped("runs/pretrain")
    cortex = pretrain(cfg, out)
    check_healthy(cortex, cfg.arm, out=out, seed=cfg.seed)
    print(f"checkpoint: {out / 'healthy_cortex.pt'} (copy it to rehabgym/assets/ to ship it)")
    return 0


def _add_pretrain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain", help="train the healthy cortex (closed loop, MuJoCo arm)")
    p.add_argument("--config", help="YAML overriding PretrainConfig (configs/pretrain.yaml)")
    p.add_argument("--out", help="output folder (default: runs/pretrain/<timestamp>/)")
    p.set_defaults(func=_run_pretrain)


def _run_evaluate_healthy(args: argparse.Namespace) -> int:
    cortex, arm_cfg = load_checkpoint(args.checkpoint)
    out = Path(args.out) if args.out else _timestamped("runs/healthy")
    ok = check_healthy(cortex, arm_cfg, out=out, seed=args.seed)["passed"]
    return 0 if ok else 1


def _add_evaluate_healthy(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate-healthy", help="reach figures and criteria of a cortex")
    p.add_argument("--checkpoint", help="cortex checkpoint (default: the shipped healthy one)")
    p.add_argument("--seed", type=int, default=0, help="noise seed of the reaches")
    p.add_argument("--out", help="output folder (default: runs/healthy/<timestamp>/)")
    p.set_defaults(func=_run_evaluate_healthy)


# ---------------------------------------------------------------- validate
def _run_validate(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(ValidateConfig, args.config)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"rehabgym validate: bad config: {exc}", file=sys.stderr)
        return 2
    cfg = ValidateConfig.quick(cfg) if args.quick else cfg
    if args.patients:
        cfg.n_patients = args.patients
    if args.seed is not None:
        cfg.seed = args.seed
    if args.rows:
        cfg.rows = tuple(args.rows)
    try:
        selected_rows(args.ablate, cfg.rows)
    except ValueError as exc:
        print(f"rehabgym validate: {exc}", file=sys.stderr)
        return 2
    name = "validate" + ("-quick" if args.quick else "")
    name += f"-{args.ablate}" if args.ablate else ""
    out = Path(args.out) if args.out else _timestamped(f"runs/{name}")
    validate(cfg, out, ablate=args.ablate, workers=args.workers or os.cpu_count() or 1)
    print(f"table, figures and config: {out}")
    return 0


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="run a virtual cohort; print the phenomena table")
    p.add_argument("--config", help="YAML overriding ValidateConfig's defaults (patient, "
                   "plasticity, cohort, experiments); a run's saved config.yaml works too")
    p.add_argument("--quick", action="store_true",
                   help="small cohort, few days, its own short experiment timings (tests)")
    p.add_argument("--patients", type=_count, default=None, help="cohort size")
    p.add_argument("--workers", type=_count, default=None,
                   help="processes the experiments run on (default: the cores; the same table)")
    p.add_argument("--seed", type=int, default=None, help="cohort and noise seed (default 0)")
    p.add_argument("--ablate", choices=RULES, help="switch one plasticity rule off")
    p.add_argument("--rows", type=_count, nargs="+", default=None,
                   help="measure only these rows (numbers) and the experiments they need")
    p.add_argument("--out", help="output folder (default: runs/validate/<timestamp>/)")
    p.set_defaults(func=_run_validate)


def _run_pool(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else _timestamped("runs/validate-pooled")
    try:
        pool(args.runs, out)
    except ConfigError as exc:
        print(f"rehabgym pool: {exc}", file=sys.stderr)
        return 2
    print(f"table, figures and runs.json: {out}")
    return 0


def _add_pool(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pool", help="the phenomena table on the patients of several finished "
                       "validate runs (seeds) together; nothing is simulated again")
    p.add_argument("runs", nargs="+", help="validate run folders (their --out), same config "
                   "but the seed")
    p.add_argument("--out", help="output folder (default: runs/validate-pooled/<timestamp>/)")
    p.set_defaults(func=_run_pool)


def _run_calibrate(args: argparse.Namespace) -> int:
    try:
        cfg = _configured(CalibrateConfig, args.config,
                          {"trials": args.trials, "workers": args.workers})
    except (ConfigError, FileNotFoundError) as exc:
        print(f"rehabgym calibrate: bad config: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else _timestamped("runs/calibrate")
    try:
        res = calibrate(cfg, out)
    except ConfigError as exc:
        print(f"rehabgym calibrate: {exc}", file=sys.stderr)
        return 2
    start = res["start_objective"]
    print(f"best: trial {res['best_trial']}, objective {res['objective']:.2f} (the patient as "
          f"it was: {'—' if start is None else f'{start:.2f}'}), rows passing pooled over seeds "
          f"{res['seeds']}: {res['passed']} ({res['trials']} trials)")
    print(f"its table: {res['table']}; its parameters: {out / 'calibrated.yaml'} "
          f"(`rehabgym validate --config` reads it)")
    return 0


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="search the patient's parameters (Optuna) against the "
                       "phenomena table pooled over the tuning seeds; writes calibrated.yaml")
    p.add_argument("--config", help="YAML overriding CalibrateConfig's defaults (space, seeds, "
                   "the validate cohort)")
    p.add_argument("--trials", type=_count, default=None, help="trials in all (default 24)")
    p.add_argument("--workers", type=_count, default=None,
                   help="processes a trial's seeds run on (default: the cores, at most the "
                   "seeds)")
    p.add_argument("--out", help="output folder (default: runs/calibrate/<timestamp>/); the "
                   "same folder continues a killed search")
    p.set_defaults(func=_run_calibrate)


# ---------------------------------------------------------------- train / evaluate
def _run_train(args: argparse.Namespace) -> int:
    config = args.config
    if config is None and args.resume:  # resuming a run: its own resolved config
        resume = Path(args.resume).resolve()
        run = (resume if resume.is_dir() else
               resume.parent.parent if resume.parent.name == "checkpoints" else resume.parent)
        if not (run / "config.yaml").is_file():
            raise ConfigError(f"resume: no config.yaml in {run} (the run folder of {resume})")
        config = run / "config.yaml"
    try:
        cfg = load_train_config(config or DEFAULT_EXPERIMENT)
        if args.seed is not None and args.resume:
            raise ConfigError("--seed: a resumed run keeps its own seed; leave it out")
        if args.seed is not None:
            cfg = dataclasses.replace(cfg, seed=args.seed)  # checked again, as any field
    except ConfigError as exc:
        print(f"rehabgym train: bad config: {exc}", file=sys.stderr)
        return 2
    out = train(cfg, out=args.out, resume=args.resume, command=["rehabgym", *args.argv])
    print(f"run folder: {out}   (tensorboard --logdir {Path(cfg.out_root)})")
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train an RL therapist, then compare it with the baselines")
    p.add_argument("--config", help="experiment YAML (default: configs/ppo_therapy.yaml)")
    p.add_argument("--resume", help="a run folder (its latest checkpoint) or a checkpoint .zip "
                   "to continue; its timestep count goes on")
    p.add_argument("--seed", type=int, default=None,
                   help="the run's seed (policy and training patients; default: the config's)")
    p.add_argument("--out", help="run folder (default: <out_root>/<experiment>/<timestamp>/)")
    p.set_defaults(func=_run_train)


def _run_clone(args: argparse.Namespace) -> int:
    try:
        config = args.config or DEFAULT_EXPERIMENT
        data = load_yaml(config)
        data.update({"warm_start": args.therapist, "residual": None})
        for key, value in (("warm_start_patients", args.patients),
                           ("warm_start_epochs", args.epochs)):
            if value is not None:
                data[key] = value
        cfg = load_train_config(_beside(data, config))
    except ConfigError as exc:
        print(f"rehabgym clone: bad config: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else _timestamped(f"runs/clone/{cfg.experiment}")
    report = clone_heuristic(cfg, out)
    agree = ", ".join(f"{a:.2f}" for a in report["held_out_agreement"])
    print(f"{args.therapist} cloned from {report['demonstrations']} days: loss "
          f"{report['loss_before']:.3f} -> {report['loss_after']:.3f} nats per day; agreement "
          f"on held-out patients (direction, distance, assistance, repetitions): {agree}")
    print(f"model: {out / 'model.zip'}  (compare it: rehabgym evaluate --therapist "
          f"{cfg.algorithm}:{out / 'model.zip'} {args.therapist})")
    return 0


def _beside(data: dict, config: str) -> dict:
    """A config dict whose relative env_config path is resolved beside its YAML file."""
    env = data.get("env_config")
    if isinstance(env, str) and not Path(env).is_absolute():
        data["env_config"] = str(Path(config).parent / env)
    return data


def _add_clone(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("clone", help="behaviour cloning: an SB3 policy that imitates a "
                       "heuristic (a baseline and a warm start)")
    p.add_argument("--therapist", required=True, help="the heuristic's spec, e.g. adaptive")
    p.add_argument("--config", help="training YAML whose environment, algorithm and policy "
                   "the clone has (default: configs/ppo_therapy.yaml)")
    p.add_argument("--patients", type=int, default=None,
                   help="training patients of the demonstrations (default 32)")
    p.add_argument("--epochs", type=int, default=None, help="passes over them (default 200)")
    p.add_argument("--out", help="output folder (default: runs/clone/<experiment>/<timestamp>/)")
    p.set_defaults(func=_run_clone)


def _add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """Where the engine's chunks run (`rehabgym evaluate` and `rehabgym trial`)."""
    p.add_argument("--workers", type=_count, default=None,
                   help="worker processes / CPUs of a local Ray cluster (default: the cores)")
    p.add_argument("--backend", choices=BACKENDS, default="local",
                   help="local: worker processes here (default); ray: Ray Core tasks")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (default: start a local one)")


def _run_evaluate(args: argparse.Namespace) -> int:
    env_kwargs = None if args.env_config is None else {"config": args.env_config}
    out = Path(args.out) if args.out else _timestamped("runs/evaluate")
    compare_therapists(args.therapist, args.patients, out, env_id=args.env_id,
                       env_kwargs=env_kwargs, seed=args.seed, baselines=args.baselines,
                       sample=args.sample, workers=args.workers, backend=args.backend,
                       address=args.address)
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="therapists on a held-out cohort of seeded patients")
    p.add_argument("--therapist", nargs="+", required=True,
                   help="heuristic names or <algorithm>:<model.zip>; the first is tested "
                        "against the others and the baselines")
    p.add_argument("--patients", type=_count, default=20, help="held-out patients (default 20)")
    p.add_argument("--baselines", nargs="*", default=None,
                   help="heuristic baselines (default: all)")
    p.add_argument("--env-id", default="rehabgym/Therapy-v2")
    p.add_argument("--env-config", default=None,
                   help="environment YAML (default: the model's run config, else the defaults)")
    p.add_argument("--seed", type=int, default=1_000_000, help="first patient seed")
    p.add_argument("--sample", action="store_true",
                   help="models sample their policy (seeded per patient) instead of its argmax "
                        "(as runs with deterministic_eval: false are compared)")
    _add_backend_arguments(p)
    p.add_argument("--out", help="report folder (default: runs/evaluate/<timestamp>/)")
    p.set_defaults(func=_run_evaluate)


def _run_schedules(args: argparse.Namespace) -> int:
    try:
        cfg = _configured(SchedulesConfig, args.config, {
            "cohorts": tuple(args.cohort) if args.cohort else None,
            "patients": args.patients, "seed": args.seed})
    except (ConfigError, FileNotFoundError) as exc:
        print(f"rehabgym schedules: bad config: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else _timestamped("runs/schedules")
    search_schedules(cfg, out)
    print(f"results and config: {out}")
    return 0


def _add_schedules(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedules", help="screen the fixed schedules of the action space per "
                       "cohort; the adaptive therapist against the best (headroom)")
    p.add_argument("--config", help="YAML overriding SchedulesConfig's defaults")
    p.add_argument("--cohort", nargs="+", choices=["mild", "moderate", "severe", "mixed",
                                                   "corticospinal"],
                   help="cohorts (default: mild severe mixed; the adaptive comparison runs "
                        "on mixed)")
    p.add_argument("--patients", type=_count, default=None,
                   help="held-out patients per cohort in the final (default 32)")
    p.add_argument("--seed", type=int, default=None, help="patient seeds (default 0)")
    p.add_argument("--out", help="output folder (default: runs/schedules/<timestamp>/)")
    p.set_defaults(func=_run_schedules)


def _run_tune(args: argparse.Namespace) -> int:
    try:
        cfg = _configured(TuneConfig, args.config, {
            "therapist": args.therapist, "budget_days": args.budget_days,
            "patients": args.patients, "seed": args.seed, "workers": args.workers,
            "env": load_config(TherapyEnvConfig, args.env_config) if args.env_config
            else None})
    except (ConfigError, FileNotFoundError) as exc:
        print(f"rehabgym tune: bad config: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else _timestamped(f"runs/tune/{cfg.therapist}")
    result = tune(cfg, out)
    untuned = result["untuned_mean_return"]
    print(f"{result['spec']}: mean return {result['mean_return']:.2f} on {cfg.patients} "
          f"training patients (untuned {'—' if untuned is None else f'{untuned:.2f}'}; "
          f"{result['trials']} trials, {result['budget_days']} days)")
    print(f"use it as: {cfg.therapist}(params='{out / 'tuned.yaml'}')")
    return 0


def _add_tune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="tune a heuristic's parameters with Optuna on training "
                       "patients; writes tuned.yaml for a spec to load")
    p.add_argument("--config", help="YAML overriding TuneConfig's defaults")
    p.add_argument("--therapist", help="the heuristic to tune (default adaptive)")
    p.add_argument("--budget-days", type=int, default=None,
                   help="simulated therapy days in all (default 28800: the long config's)")
    p.add_argument("--patients", type=int, default=None,
                   help="training patients of every trial (default 16)")
    p.add_argument("--seed", type=int, default=None, help="first training seed (default 0)")
    p.add_argument("--env-config", help="environment YAML (default: the long config's)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: the cores)")
    p.add_argument("--out", help="output folder (default: runs/tune/<therapist>/<timestamp>/); "
                   "the same folder continues a killed study")
    p.set_defaults(func=_run_tune)


def _run_trial(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(TrialConfig, args.config)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"rehabgym trial: bad config: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else _timestamped(f"runs/trial/{cfg.name}")
    write_text(out / "command.txt", " ".join(["rehabgym", *args.argv]) + "\n")
    limit_heap()  # this process is a worker too when it runs the chunks itself
    result = run_trial(cfg, out, backend=args.backend, workers=args.workers,
                       address=args.address)
    write_report(result, out)
    print((out / "trial.md").read_text())
    print(f"results, patients.csv, figures and config: {out}")
    return 0


def _add_trial(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trial", help="a virtual randomised trial of therapists (local or Ray)")
    p.add_argument("--config", required=True,
                   help="trial YAML overriding TrialConfig (e.g. configs/trial/example.yaml)")
    _add_backend_arguments(p)
    p.add_argument("--out", help="output folder (default: runs/trial/<name>/<timestamp>/); "
                   "the same folder continues a killed trial")
    p.set_defaults(func=_run_trial)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_demo, _add_bench, _add_pretrain, _add_evaluate_healthy, _add_validate, _add_pool,
    _add_calibrate, _add_train, _add_clone, _add_evaluate, _add_schedules, _add_tune,
    _add_trial]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rehabgym", description="A virtual stroke patient and its RL therapists.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rehabgym` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:  # a bad name, value or file from the user: no traceback
        print(f"rehabgym {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
