"""Benchmarks (`rehabgym bench ...`): every figure is a ratio against raw `mujoco.rollout`.

The arm's physics is the floor: `bench_arm` runs, in one process and on the same single-arm
model, (a) the closed loop `Arm.step` — a new excitation array every control period computed
from the state — and (b) raw open-loop `mujoco.rollout` with a persistent thread pool, both for
the same number of arm-seconds, and reports simulated arm-seconds per wall-second and their ratio.
"""

from __future__ import annotations

import os
import time

import mujoco
import numpy as np
from mujoco import rollout

from rehabgym.arm import Arm, ArmConfig


def _best_of(fn, repeats: int) -> float:
    fn()  # warm up (allocations, thread pools)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _closed_loop(arm: Arm, n_ctrl: int) -> None:
    state = arm.reset()
    q0 = state.joint_angle.copy()
    u = np.empty((arm.batch_size, 6))
    for _ in range(n_ctrl):
        # A tiny joint-space feedback law: flexors push toward the start posture, extensors back.
        err = q0 - state.joint_angle - 0.1 * state.joint_velocity
        u[:, 0::2] = np.clip(0.05 + err[:, [0, 1, 0]], 0.0, 1.0)
        u[:, 1::2] = np.clip(0.05 - err[:, [0, 1, 0]], 0.0, 1.0)
        state = arm.step(u)


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
    pool = rollout.Rollout(nthread=nthread)
    try:
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
            t_raw = _best_of(lambda m=model, x0=x0, c=ctrl, ds=datas: pool.rollout(m, ds, x0, c),
                             repeats)
            arm_s = b * n_ctrl * arm.dt
            results.append({"batch": int(b), "arm_seconds": arm_s,
                            "closed_arm_s_per_s": arm_s / t_closed,
                            "raw_arm_s_per_s": arm_s / t_raw,
                            "ratio": t_raw / t_closed, "nthread": nthread})
    finally:
        pool.close()
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
