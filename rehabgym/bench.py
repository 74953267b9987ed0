"""Benchmarks (`rehabgym bench ...`): every figure is a ratio against raw `mujoco.rollout`.

The arm's physics is the floor: `bench_arm` runs, in one process and on the same single-arm
model, (a) the closed loop `Arm.step` — a new excitation array every control period computed
from the state — and (b) raw open-loop `mujoco.rollout` with a persistent thread pool, both for
the same number of arm-seconds, and reports simulated arm-seconds per wall-second and their ratio.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import stable_baselines3
from mujoco import rollout

from rehabgym.arm import Arm, ArmConfig
from rehabgym.config import load_config
from rehabgym.cortex.lesion import Lesion
from rehabgym.cortex.plasticity import RULES, PlasticityConfig
from rehabgym.envs.config import TherapyEnvConfig, resolve_config
from rehabgym.envs.therapy import TherapyEnv
from rehabgym.envs.vector import TherapyVectorEnv
from rehabgym.healthy.checkpoint import load_checkpoint
from rehabgym.patient import CohortConfig, Patient, PatientBatch, PatientConfig, SessionPlan
from rehabgym.patient.cohort import sample_cohort
from rehabgym.reaching.loop import ArmTrace, ClosedLoop, recording_arms
from rehabgym.reaching.targets import center_out_targets
from rehabgym.runtime.heap import limit_heap
from rehabgym.training.config import DEFAULT_EXPERIMENT, TrainConfig, load_train_config
from rehabgym.training.vec_env import make_train_env
from rehabgym.trials import TrialConfig, run_trial


def _best_of_each(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The fastest of `repeats` timings of each function, the functions taking turns.

    On a shared host the load drifts over seconds; taking turns within each round exposes
    every side of a ratio to the same drift, where timing one side's repeats after the other's
    let a burst of load land on one side only.
    """
    for fn in fns.values():
        fn()  # warm up (allocations, thread pools)
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    return _best_of_each({"fn": fn}, repeats)["fn"]


@contextmanager
def _one_core() -> Iterator[None]:
    """Run this thread, and the threads it starts, on one core (where the OS allows pinning)."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


def _closed_loop(arm: Arm, n_ctrl: int) -> None:
    arm.reset()
    x = arm.get_physics_state()
    q0 = x[:, 1:3].copy()
    u = np.empty((arm.batch_size, 6))
    for _ in range(n_ctrl):
        # A tiny joint-space feedback law read off the physics state each period (as the
        # cortex loop does): flexors push toward the start posture, extensors back.
        err = q0 - x[:, 1:3] - 0.1 * x[:, 3:5]
        u[:, 0::2] = np.clip(0.05 + err[:, [0, 1, 0]], 0.0, 1.0)
        u[:, 1::2] = np.clip(0.05 - err[:, [0, 1, 0]], 0.0, 1.0)
        arm.step(u, observe=False)
        x = arm.get_physics_state()


def bench_arm(
    batch_sizes: tuple[int, ...] = (1, 64, 512),
    seconds: float = 1.0,
    nthread: int | None = None,
    repeats: int = 3,
    config: ArmConfig | None = None,
    verbose: bool = True,
) -> list[dict]:
    """Arm-seconds per wall-second, closed-loop `Arm.step` vs raw `mujoco.rollout`.

    Returns one dict per batch size: batch, arm_seconds, closed_arm_s_per_s, raw_arm_s_per_s,
    ratio (closed / raw; 1 = as fast as raw MuJoCo), nthread.
    """
    cfg = config or ArmConfig()
    nthread = nthread or os.cpu_count() or 1
    if seconds <= 0:
        raise ValueError(f"seconds: must be > 0, got {seconds!r}")
    results = []
    for b in batch_sizes:
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
            raise ValueError(f"batch_sizes: each must be an integer >= 1, got {b!r}")
        arm = Arm(cfg, batch_size=int(b), nthread=nthread)
        n_ctrl = max(1, int(round(seconds / arm.dt)))
        t_closed = _best_of(lambda arm=arm, n=n_ctrl: _closed_loop(arm, n), repeats)
        arm.close()

        model = arm.model
        nstep = n_ctrl * cfg.n_substeps  # same simulated time
        spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
        data = mujoco.MjData(model)
        data.qpos[:] = np.radians(cfg.start_posture)
        mujoco.mj_forward(model, data)
        x0 = np.empty(mujoco.mj_stateSize(model, spec))
        mujoco.mj_getState(model, data, x0, spec)
        x0 = np.tile(x0, (b, 1))
        ctrl = np.zeros((b, nstep, model.nu))
        ctrl[:, :, :6] = 0.05
        datas = [mujoco.MjData(model) for _ in range(nthread)]
        # The pool lives only while raw rollout is timed: its idle workers would otherwise
        # compete with the closed loop for the cores.
        with rollout.Rollout(nthread=nthread) as pool:
            t_raw = _best_of(lambda m=model, x0=x0, c=ctrl, ds=datas, p=pool:
                             p.rollout(m, ds, x0, c), repeats)
        arm_s = b * n_ctrl * arm.dt
        results.append({"batch": int(b), "arm_seconds": arm_s,
                        "closed_arm_s_per_s": arm_s / t_closed,
                        "raw_arm_s_per_s": arm_s / t_raw,
                        "ratio": t_raw / t_closed, "nthread": nthread})
    if verbose:
        print(format_bench(results))
    return results


def format_bench(results: list[dict]) -> str:
    """A plain-text table of `bench_arm` results."""
    lines = [f"{'batch':>6} {'arm-s':>7} {'closed arm-s/s':>15} {'raw rollout arm-s/s':>20} "
             f"{'closed/raw':>10}"]
    for r in results:
        lines.append(f"{r['batch']:6d} {r['arm_seconds']:7.1f} {r['closed_arm_s_per_s']:15.1f} "
                     f"{r['raw_arm_s_per_s']:20.1f} {r['ratio']:10.2f}")
    if results:
        lines.append(f"(nthread={results[0]['nthread']}; ratio = closed / raw speed, 1 = as fast "
                     "as raw mujoco.rollout)")
    return "\n".join(lines)


def bench_env(
    num_envs: int = 16,
    days: int = 3,
    config: Any = None,
    seed: int = 0,
    verbose: bool = True,
) -> dict:
    """Patient-days per wall-second: native `TherapyVectorEnv` vs `SyncVectorEnv` of single envs.

    Both run `num_envs` patients for `days` therapy days with the same actions, in this process
    (resets, which build the patients, are not timed). `config` is anything `TherapyEnv`
    accepts (default: its defaults, with the horizon stretched to `days`). Returns num_envs,
    days, native_days_per_s, sync_days_per_s and ratio (native / sync).
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days: must be an integer >= 1, got {days!r}")
    cfg = resolve_config(config)
    cfg = resolve_config(cfg, horizon_days=max(cfg.horizon_days, days))
    native = TherapyVectorEnv(num_envs, config=cfg)
    sync = gym.vector.SyncVectorEnv([lambda: TherapyEnv(cfg) for _ in range(num_envs)])
    rng = np.random.default_rng(seed)
    actions = [np.column_stack([rng.integers(0, 8, num_envs),
                                np.tile(np.array([1, 0, 1]), (num_envs, 1))]) for _ in range(days)]
    envs = {"native": native, "sync": sync}
    seconds = dict.fromkeys(envs, 0.0)
    try:
        for env in envs.values():
            env.reset(seed=seed)
        for a in actions:  # the two take turns day by day, so load drift hits both alike
            for name, env in envs.items():
                t0 = time.perf_counter()
                env.step(a)
                seconds[name] += time.perf_counter() - t0
    finally:
        native.close()
        sync.close()
    result = {"num_envs": num_envs, "days": days,
              **{f"{name}_days_per_s": num_envs * days / t for name, t in seconds.items()}}
    result["ratio"] = result["native_days_per_s"] / result["sync_days_per_s"]
    if verbose:
        print(f"{num_envs} patients x {days} therapy days: native TherapyVectorEnv "
              f"{result['native_days_per_s']:.2f} patient-days/s, SyncVectorEnv of TherapyEnv "
              f"{result['sync_days_per_s']:.2f} patient-days/s, ratio {result['ratio']:.2f}x")
    return result


def bench_cortex(batch: int = 64, seconds: float = 1.0, repeats: int = 7,
                 verbose: bool = True) -> dict:
    """A batch of reaches with the healthy cortex in the loop vs the same arm stepping alone.

    Arm-only replays the excitations the cortex produced, so both move the same arms through
    the same reaches; raw `mujoco.rollout` of the same arm-seconds is printed for reference.
    """
    cortex, arm_cfg = load_checkpoint()
    loop = ClosedLoop(cortex, arm_cfg)
    targets = np.resize(center_out_targets(loop.start, 8, 0.1), (batch, 2))
    res = loop.run(targets, seconds)
    arm = Arm(arm_cfg, batch_size=batch)
    exc = res.excitation

    def arm_only():
        arm.reset()
        for t in range(exc.shape[1]):
            arm.step(exc[:, t])

    best = _best_of_each({"loop": lambda: loop.run(targets, seconds), "arm": arm_only}, repeats)
    t_loop, t_arm = best["loop"], best["arm"]
    raw = bench_arm((batch,), seconds=seconds, repeats=repeats, config=arm_cfg, verbose=False)[0]
    out = {"batch": batch, "seconds": seconds, "cortex_loop_s": t_loop, "arm_only_s": t_arm,
           "ratio_to_arm": t_loop / t_arm,
           "ratio_to_raw_rollout": t_loop / (raw["arm_seconds"] / raw["raw_arm_s_per_s"])}
    if verbose:
        print(f"{batch} reaches of {seconds:g} s: cortex in the loop {1000 * t_loop:.1f} ms, "
              f"arm alone {1000 * t_arm:.1f} ms -> ratio {out['ratio_to_arm']:.2f} "
              f"(target <= 2); vs raw mujoco.rollout {out['ratio_to_raw_rollout']:.2f}x its time")
    return out


def bench_patient(days: int = 5, reps: int = 60, one_core: bool = True,
                  verbose: bool = True) -> dict:
    """Therapy days per second of one default patient, and the cost of plasticity.

    A day is `reps` practice reaches, a rest day (daily-life use) and the assessment; each
    figure is the fastest of `days` days, the three patients (default, plasticity on without
    daily life, every rule off) taking turns day by day. The cost of plasticity compares the
    same reaches with every rule on and off: daily-life use is left out on both sides there,
    because the number of its reaches follows the score, which plasticity changes. With
    `one_core` the patients run pinned to one core, as the targets are stated (the noise
    worker thread then shares that core); otherwise on every core the process may use.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days: must be an integer >= 1, got {days!r}")
    lesion = Lesion(focal_center=(1.0, 1.0), focal_radius=0.45)
    plan = SessionPlan(tuple(range(8)), reps)
    configs = {"default": PlasticityConfig(),
               "plastic": PlasticityConfig(daily_life=False),
               "frozen": PlasticityConfig(**{rule: False for rule in RULES})}

    def day_of(patient: Patient) -> Callable[[], None]:
        def day() -> None:
            patient.practice(plan)
            patient.rest(1)
            patient.assess()
        return day

    with _one_core() if one_core else nullcontext():
        patients = {name: Patient(lesion, PatientConfig(plasticity=pc), seed=0)
                    for name, pc in configs.items()}
        best = _best_of_each({name: day_of(p) for name, p in patients.items()}, days)
    out = {"reps": reps, "one_core": one_core, "seconds_per_day": best["default"],
           "days_per_second": 1.0 / best["default"],
           "plastic_seconds_per_day": best["plastic"], "frozen_seconds_per_day": best["frozen"],
           "plasticity_cost_ratio": best["plastic"] / best["frozen"]}
    if verbose:
        where = "one core" if one_core else "all cores"
        print(f"one patient on {where}, {reps} practice reaches + daily life + assessment per "
              f"day: {best['default']:.3f} s/day ({out['days_per_second']:.1f} days/s; "
              f"target <= 0.25 s)\nsame reaches without daily life: plasticity on "
              f"{best['plastic']:.3f} s/day, off {best['frozen']:.3f} s/day -> plasticity "
              f"costs {out['plasticity_cost_ratio']:.2f}x (target <= 1.25x)")
    return out


def _reset_peak_rss() -> None:
    """Start this process's peak-memory count again from now (Linux: `clear_refs` 5 resets
    VmHWM), so a transient peak of importing does not hide the batch's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    """This process's peak resident memory (MB) since `_reset_peak_rss` where Linux reports it
    (VmHWM), else since it started (`ru_maxrss`), else NaN."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        return math.nan
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes there, KiB here


def _batch_days(patients: int, days: int, reps: int, limited: bool) -> float:
    """In a fresh process: `days` therapy days (practice `reps` reaches, then a day's rest)
    of a batch of `patients` mixed-cohort patients on one thread; the peak RSS (MB). With
    `limited`, the allocator set as in a trial's worker (`limit_heap`)."""
    if limited:
        limit_heap()
    _reset_peak_rss()
    lesions = sample_cohort(CohortConfig.preset("mixed"), patients, 0)
    batch = PatientBatch(lesions, PatientConfig(nthread=1), seed=0)
    plan = SessionPlan(tuple(range(8)), reps)
    for _ in range(days):
        batch.practice([plan] * patients)
        batch.rest(1)
    return _peak_rss_mb()


def bench_memory(sizes: tuple[int, ...] = (4, 32), days: int = 2, reps: int = 60,
                 verbose: bool = True) -> dict:
    """Peak memory of a batch of patients, each size in a fresh process: the memory per
    patient is the slope of the peak over the batch size, the rest is a process's own (the
    interpreter, torch, the healthy cortex). Measured as a trial's worker runs (the allocator
    limited, `limit_heap`: what a trial's chunk size is chosen from) and with the C library's
    default allocator (a user's own process)."""
    if len(set(sizes)) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes: need two different batch sizes >= 1, got {sizes!r}")
    out: dict[str, Any] = {"sizes": list(sizes), "days": days, "reps": reps}
    for limited, key in ((True, "worker"), (False, "default")):
        peaks = []
        for p in sizes:
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                peaks.append(pool.submit(_batch_days, int(p), days, reps, limited).result())
        slope, overhead = np.polyfit(np.asarray(sizes, float), np.asarray(peaks), 1)
        out[key] = {"peak_mb": peaks, "mb_per_patient": float(slope),
                    "overhead_mb": float(overhead)}
        if verbose:
            each = ", ".join(f"{p} patients {m:.0f} MB" for p, m in zip(sizes, peaks))
            what = ("trial worker (allocator limited)" if limited
                    else "default allocator (a user's process)")
            print(f"{what}, peak RSS over {days} days of {reps} reaches + rest: {each} -> "
                  f"{slope:.1f} MB per patient" + (" (target <= 10)" if limited else "")
                  + f" + {overhead:.0f} MB a process")
    out["mb_per_patient"] = out["worker"]["mb_per_patient"]
    return out


def bench_trial(patients: int = 16, days: int = 5, chunk: int = 4,
                runs: tuple[tuple[str, int], ...] = (("local", 1), ("local", 2), ("ray", 1),
                                                     ("ray", 2)),
                verbose: bool = True) -> list[dict]:
    """Patient-days per second of one small trial (two arms: no therapy, round robin) on each
    (backend, workers) of `runs`, wall time including the start of the workers (and of a local
    Ray cluster); the per-core rate divides by the workers. Every run gives the same patients.
    """
    cfg = load_config(TrialConfig, {
        "name": "bench", "patients_per_arm": -(-patients // 2), "chunk_patients": chunk,
        "arms": [{"name": "no_therapy", "therapist": "no_therapy"},
                 {"name": "round_robin", "therapist": "round_robin"}],
        "env": {"horizon_days": days}})
    rows, first = [], None
    for backend, workers in runs:
        with tempfile.TemporaryDirectory(prefix="rehabgym-bench-") as folder:
            t0 = time.perf_counter()
            result = run_trial(cfg, folder, backend=backend, workers=workers, progress=False)
            wall = time.perf_counter() - t0
        first = result.scores if first is None else first
        rate = cfg.n_patients * days / wall
        rows.append({"backend": backend, "workers": workers, "seconds": wall,
                     "patient_days_per_s": rate, "per_core": rate / workers,
                     "same_patients": bool(np.array_equal(first, result.scores))})
        if verbose:
            print(f"{backend:5s} {workers} worker(s): {cfg.n_patients} patients x {days} days "
                  f"in {wall:.1f} s -> {rate:.2f} patient-days/s ({rate / workers:.2f} per "
                  f"core); same patients as the first run: {rows[-1]['same_patients']}")
    return rows


def _replay(arm: Arm, traces: list[ArmTrace]) -> float:
    """The arms of `traces` stepped alone, as the closed loop steps them (a reset per run,
    the physics state read every period); returns the arm-seconds simulated."""
    arm_seconds = 0.0
    for tr in traces:
        b, steps = tr.excitation.shape[:2]
        arm.reset(batch_size=b)
        assist = (None, None) if tr.assist_gain is None else (tr.target, tr.assist_gain)
        for t in range(steps):
            arm.step(tr.excitation[:, t], *assist, observe=False)
            arm.get_physics_state()
        arm_seconds += b * steps * arm.dt
    return arm_seconds


def bench_floor(num_envs: int = 8, episodes: int = 1, config: Any = None, seed: int = 0,
                threads: int = 1, verbose: bool = True) -> dict:
    """The native vector env against its own physics: patient-days per second of whole
    episodes (the admission's rest days, the therapy days) over the time the arm alone takes
    to step the same arms through the same reaches with the same excitations.

    Each call of the env (a reset or a day of random actions) is recorded
    (`recording_arms`) and replayed on an `Arm` at once, the two taking turns call by call,
    both on `threads` threads: by default one, as each of training's processes simulates
    its shard of the patients (8 of 16 on 2 cores). `config` is anything `TherapyVectorEnv`
    accepts (its `patient.nthread` is set to `threads`). Returns num_envs, patient_days,
    env_days_per_s, arm_days_per_s (the same days at the arm's speed), arm_seconds and ratio
    (env time / arm time: 1 would be the physics alone).
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes: must be an integer >= 1, got {episodes!r}")
    cfg = resolve_config(config)
    cfg = dataclasses.replace(cfg, patient=dataclasses.replace(cfg.patient, nthread=threads))
    env = TherapyVectorEnv(num_envs, config=cfg)
    arm = Arm(load_checkpoint(cfg.patient.checkpoint)[1], nthread=threads)
    rng = np.random.default_rng(seed)
    t_env = t_arm = arm_seconds = 0.0
    try:
        calls: list[Callable[[], object]] = []
        for e in range(episodes):
            calls.append(lambda e=e: env.reset(seed=seed + e * num_envs))
            calls += [lambda: env.step(_random_actions(env, rng))] * env.horizon
        for call in calls:
            with recording_arms() as traces:
                t0 = time.perf_counter()
                call()
                t_env += time.perf_counter() - t0
            t0 = time.perf_counter()
            arm_seconds += _replay(arm, traces)
            t_arm += time.perf_counter() - t0
    finally:
        env.close()
        arm.close()
    days = num_envs * episodes * env.horizon
    out = {"num_envs": num_envs, "patient_days": days, "env_days_per_s": days / t_env,
           "arm_days_per_s": days / t_arm, "arm_seconds": arm_seconds, "ratio": t_env / t_arm}
    if verbose:
        print(f"floor: {num_envs} patients x {episodes} episode(s) of {env.horizon} days "
              f"(admission included), {threads} thread(s): native env "
              f"{out['env_days_per_s']:.2f} patient-days/s, "
              f"the same {arm_seconds:.0f} arm-seconds on the arm alone "
              f"{out['arm_days_per_s']:.2f} patient-days/s -> env / arm {out['ratio']:.2f}x "
              "the time (target <= 1.3x)")
    return out


def _random_actions(env: TherapyVectorEnv, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random action per patient, from `rng` (the env's own space sampler is
    seeded apart)."""
    nvec = np.asarray(env.single_action_space.nvec)
    return (rng.random((env.num_envs, len(nvec))) * nvec).astype(np.int64)


#: `gymnasium.make` keyword arguments that are `TherapyEnvConfig` fields (the rest are not)
TRAIN_ENV_FIELDS = {f.name for f in dataclasses.fields(TherapyEnvConfig)}


def bench_train(config: Any = None, rounds: int = 2, verbose: bool = True) -> dict:
    """Patient-days per second of real training (rollouts and updates, no evaluations) over
    the training env's own, same patients per batch: the two take turns rollout by rollout.

    `config` is a `TrainConfig`, a YAML path or dict (default: the main job's experiment,
    `configs/ppo_therapy.yaml`, where it exists, else `TrainConfig()`). The env side steps the
    same SB3 vector env with random actions (autoresets included); the train side is
    `model.learn` for one rollout of `n_steps` days per patient, `rounds` times after one
    untimed round each. Returns n_envs, shard (patients per process of the env), env_config
    (its `TherapyEnvConfig`), patient_days
    (timed, each side), env_days_per_s, train_days_per_s and ratio (train / env speed; 1 =
    training costs nothing beyond the env).
    """
    if config is None:
        config = DEFAULT_EXPERIMENT if Path(DEFAULT_EXPERIMENT).is_file() else TrainConfig()
    cfg = config if isinstance(config, TrainConfig) else load_train_config(config)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds: must be an integer >= 1, got {rounds!r}")
    n_steps = int(cfg.hyperparameters.get("n_steps", 2048 if cfg.algorithm == "ppo" else 5))
    days = n_steps * cfg.n_envs
    env_side, train_side = make_train_env(cfg), make_train_env(cfg)
    model = getattr(stable_baselines3, cfg.algorithm.upper())(
        cfg.policy, train_side, seed=cfg.seed, device=cfg.device, verbose=0,
        **cfg.hyperparameters)
    rng = np.random.default_rng(cfg.seed)
    space = env_side.action_space
    nvec = np.asarray(getattr(space, "nvec", [getattr(space, "n", 1)]))

    def env_rollout() -> None:
        for _ in range(n_steps):
            a = (rng.random((cfg.n_envs, len(nvec))) * nvec).astype(np.int64)
            env_side.step(a if hasattr(space, "nvec") else a[:, 0])

    def train_rollout() -> None:
        model.learn(days, reset_num_timesteps=False)

    try:
        env_side.reset()
        seconds = {"env": 0.0, "train": 0.0}
        for k in range(rounds + 1):
            for name, fn in (("env", env_rollout), ("train", train_rollout)):
                t0 = time.perf_counter()
                fn()
                if k:
                    seconds[name] += time.perf_counter() - t0
    finally:
        env_side.close()
        train_side.close()
    timed = days * rounds
    kwargs = cfg.make_kwargs()
    workers = min(cfg.env_workers or os.cpu_count() or 1, cfg.n_envs) \
        if cfg.vec_env == "native" else 1
    out = {"n_envs": cfg.n_envs, "shard": -(-cfg.n_envs // workers),
           "env_config": resolve_config(kwargs.get("config"), **{
               k: v for k, v in kwargs.items() if k in TRAIN_ENV_FIELDS}),
           "patient_days": timed,
           "env_days_per_s": timed / seconds["env"],
           "train_days_per_s": timed / seconds["train"],
           "ratio": seconds["env"] / seconds["train"]}
    if verbose:
        print(f"train: {cfg.algorithm} on {cfg.n_envs} patients, {rounds} rollouts of {n_steps} "
              f"days: {out['train_days_per_s']:.2f} patient-days/s, the env alone "
              f"{out['env_days_per_s']:.2f} -> train / env {out['ratio']:.2f} (target >= 0.8)")
    return out


def bench_all(verbose: bool = True) -> list[dict]:
    """Every benchmark at its defaults, one after the other, summarised as a table of ratios
    against their targets (`rehabgym bench` with no subcommand). About two minutes on 2 cores."""
    arm = {r["batch"]: r for r in bench_arm(verbose=verbose)}
    cortex = bench_cortex(verbose=verbose)
    patient = bench_patient(verbose=verbose)
    env = bench_env(verbose=verbose)
    memory = bench_memory(verbose=verbose)
    train = bench_train(verbose=verbose)
    floor = bench_floor(num_envs=train["shard"], config=train["env_config"], verbose=verbose)
    rows = [
        {"benchmark": "arm: closed-loop Arm.step / raw mujoco.rollout speed, 64 arms",
         "measured": f"{arm[64]['ratio']:.2f}", "target": "—"},
        {"benchmark": "cortex: reaches with the cortex in the loop / the arm alone (time)",
         "measured": f"{cortex['ratio_to_arm']:.2f}x", "target": "<= 2x"},
        {"benchmark": "patient: one default therapy day on one core",
         "measured": f"{patient['seconds_per_day']:.3f} s", "target": "<= 0.25 s"},
        {"benchmark": "patient: plasticity on / off, same reaches (time)",
         "measured": f"{patient['plasticity_cost_ratio']:.2f}x", "target": "<= 1.25x"},
        {"benchmark": f"env: native vector env / SyncVectorEnv, {env['num_envs']} patients "
                      "(days per second)",
         "measured": f"{env['ratio']:.2f}x", "target": ">= 3x"},
        {"benchmark": "memory: peak RSS per patient of a trial worker's batch (slope)",
         "measured": f"{memory['mb_per_patient']:.1f} MB", "target": "<= 10 MB"},
        {"benchmark": f"floor: native env / the arm alone on its reaches, {floor['num_envs']} "
                      "patients, one thread (time)",
         "measured": f"{floor['ratio']:.2f}x", "target": "<= 1.3x"},
        {"benchmark": f"train: training / the env alone, {train['n_envs']} patients (days "
                      "per second)",
         "measured": f"{train['ratio']:.2f}", "target": ">= 0.8"},
    ]
    width = max(len(r["benchmark"]) for r in rows)
    lines = [f"{'benchmark':<{width}}  {'measured':>9}  target"]
    lines += [f"{r['benchmark']:<{width}}  {r['measured']:>9}  {r['target']}" for r in rows]
    print("\n" + "\n".join(lines))
    return rows
