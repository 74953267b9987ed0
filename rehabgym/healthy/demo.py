"""A reaching demo without any neural network: a model-based controller drives the batched arm.

Each arm reaches one of the center-out targets. The controller plans a minimum-jerk hand path
(Flash & Hogan 1985), turns it into a joint trajectory by inverse kinematics, computes the
feed-forward joint torques with MuJoCo's inverse dynamics plus a joint-space PD correction, and
distributes the torque over the six muscles (agonist/antagonist pairs, strength-weighted
minimum-norm, a little co-contraction), dividing by each muscle's force-length factor.
A small seeded motor noise makes the seed matter. It is a baseline, not a model of the brain.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import mujoco
import numpy as np

from rehabgym.arm import Arm, ArmConfig
from rehabgym.arm.render import render_in_subprocess
from rehabgym.atomic import atomic_open
from rehabgym.config import NonNegative, NonNegativeInt, Positive, Range, check_fields
from rehabgym.reaching import ReachConfig, ReachMetrics, center_out_targets, reach_metrics
from rehabgym.reaching.figures import plot_center_out
from rehabgym.reaching.targets import minimum_jerk


@dataclass
class DemoConfig:
    """Every default of `rehabgym demo`."""

    arm: ArmConfig = field(default_factory=ArmConfig)
    reach: ReachConfig = field(default_factory=ReachConfig)
    batch: Annotated[int, Range(1, 4096)] = 8  # arms; arm i reaches target i mod n_targets
    seed: NonNegativeInt = 0
    movement_time: Positive = 0.5  # s, planned minimum-jerk duration
    kp: NonNegative = 60.0  # N m / rad, joint stiffness of the PD correction
    kd: NonNegative = 6.0  # N m s / rad
    lead: NonNegative = 0.02  # s, feed-forward lead that covers muscle activation delay
    co_contraction: NonNegative = 0.02  # baseline activation of the weaker muscle of each pair
    motor_noise: NonNegative = 0.001  # std of the additive excitation noise (per control period)
    render: bool = True  # write arm_frame.png (and reach.gif) when OpenGL works

    def __post_init__(self) -> None:
        check_fields(self)


def inverse_kinematics(hand: np.ndarray, l1: float, l2: float) -> np.ndarray:
    """[..., 2] joint angles (rad; elbow flexed, positive) that put the hand at `hand` [..., 2]."""
    x, y = hand[..., 0], hand[..., 1]
    c2 = np.clip((x**2 + y**2 - l1**2 - l2**2) / (2 * l1 * l2), -1.0, 1.0)
    q2 = np.arccos(c2)
    q1 = np.arctan2(y, x) - np.arctan2(l2 * np.sin(q2), l1 + l2 * np.cos(q2))
    return np.stack([q1, q2], axis=-1)


def _force_length(length: np.ndarray) -> np.ndarray:
    """MuJoCo's default active force-length curve (lmin 0.5, lmax 1.6) of normalised length."""
    lmin, lmax = 0.5, 1.6
    a, b = 0.5 * (lmin + 1), 0.5 * (1 + lmax)
    out = np.zeros_like(length)
    for lo, hi, rising in ((lmin, a, True), (a, 1.0, False), (1.0, b, True), (b, lmax, False)):
        m = (length >= lo) & (length < hi)
        x = (length[m] - lo) / (hi - lo)
        if lo < 1.0:
            out[m] = 0.5 * x**2 if rising else 1 - 0.5 * (1 - x) ** 2
        else:
            out[m] = 1 - 0.5 * x**2 if rising else 0.5 * (1 - x) ** 2
    return out


class ReachController:
    """Torque planning and muscle distribution for B arms (see the module docstring)."""

    def __init__(self, cfg: DemoConfig, start: np.ndarray, targets: np.ndarray) -> None:
        self.cfg = cfg
        arm = cfg.arm
        self.dt = arm.control_period
        n = int(round(cfg.reach.duration / self.dt)) + 1
        lead = int(round(cfg.lead / self.dt))
        t = np.arange(n + lead + 1) * self.dt
        hand, _ = minimum_jerk(start, targets, t, 0.0, cfg.movement_time)
        q = inverse_kinematics(hand, arm.upper_arm_length, arm.forearm_length)
        qd = np.gradient(q, self.dt, axis=1)
        qdd = np.gradient(qd, self.dt, axis=1)
        self.q, self.qd, self.lead = q, qd, lead
        self.tau_ff = self._inverse_dynamics(q, qd, qdd)
        R = arm.moment_arm_matrix  # [2, 6]
        fmax = np.asarray(arm.max_forces)
        self.R, self.fmax = R, fmax
        # Agonist/antagonist pairs (flexor 2i, extensor 2i+1) pull with opposite moment arms.
        if not np.allclose(R[:, 0::2], -R[:, 1::2]):
            raise ValueError("moment_arms: the demo controller needs flexor/extensor pairs")
        rp = R[:, 0::2]  # [2, 3]
        w = np.diag(np.minimum(fmax[0::2], fmax[1::2]) ** 2)
        self.pair_pinv = w @ rp.T @ np.linalg.inv(rp @ w @ rp.T)  # [3, 2]
        self.base = cfg.co_contraction * np.minimum(fmax[0::2], fmax[1::2])  # N, per pair

    def _inverse_dynamics(self, q: np.ndarray, qd: np.ndarray, qdd: np.ndarray) -> np.ndarray:
        m = Arm(self.cfg.arm).model
        d = mujoco.MjData(m)
        tau = np.zeros_like(q)
        for i in range(q.shape[0]):
            for k in range(q.shape[1]):
                d.qpos[:], d.qvel[:], d.qacc[:] = q[i, k], qd[i, k], qdd[i, k]
                mujoco.mj_inverse(m, d)
                tau[i, k] = d.qfrc_inverse
        return tau

    def excitations(self, k: int, state) -> np.ndarray:
        """[B, 6] muscle excitations for control step k given the arm's `ArmState`."""
        j = min(k + self.lead, self.q.shape[1] - 1)
        tau = (self.tau_ff[:, j]
               + self.cfg.kp * (self.q[:, k] - state.joint_angle)
               + self.cfg.kd * (self.qd[:, k] - state.joint_velocity))
        g = tau @ self.pair_pinv.T  # [B, 3] net (flexor - extensor) tension per pair
        tension = np.empty((tau.shape[0], 6))
        tension[:, 0::2] = np.maximum(g, 0) + self.base
        tension[:, 1::2] = np.maximum(-g, 0) + self.base
        gain = self.fmax * np.maximum(_force_length(state.muscle_length), 0.2)
        return tension / gain


def run_reaches(cfg: DemoConfig) -> dict[str, np.ndarray]:
    """Simulate the demo's reaches; returns time series [B, T, ...] and targets [B, 2]."""
    rng = np.random.default_rng(cfg.seed)
    arm = Arm(cfg.arm, batch_size=cfg.batch)
    state = arm.reset()
    start = np.broadcast_to(arm.start_hand_position(), (cfg.batch, 2)).copy()
    ring = center_out_targets(start[0], cfg.reach.n_targets, cfg.reach.radius)
    targets = ring[np.arange(cfg.batch) % cfg.reach.n_targets]
    ctrl = ReachController(cfg, start, targets)
    n = int(round(cfg.reach.duration / arm.dt))
    pos, vel, ang = [state.hand_position], [state.hand_velocity], [state.joint_angle]
    for k in range(n):
        u = ctrl.excitations(k, state) + cfg.motor_noise * rng.standard_normal((cfg.batch, 6))
        state = arm.step(np.clip(u, 0.0, 1.0))
        pos.append(state.hand_position)
        vel.append(state.hand_velocity)
        ang.append(state.joint_angle)
    arm.close()
    return {"hand_pos": np.stack(pos, 1), "hand_vel": np.stack(vel, 1),
            "joint_angle": np.stack(ang, 1), "start": start, "targets": targets,
            "dt": np.float64(arm.dt)}


def _write_csv(path: Path, metrics: ReachMetrics, targets_deg: np.ndarray) -> None:
    rows = metrics.rows()
    with atomic_open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["reach", "direction_deg", *rows[0]])
        w.writeheader()
        for i, row in enumerate(rows):
            w.writerow({"reach": i, "direction_deg": f"{targets_deg[i]:g}",
                        **{k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}})


def format_table(metrics: ReachMetrics, directions_deg: np.ndarray) -> str:
    """The per-reach metric table the demo prints."""
    lines = ["dir(deg)  endpoint_err(cm)  path_ratio  peaks  move_time(s)  success"]
    for i, r in enumerate(metrics.rows()):
        lines.append(
            f"{directions_deg[i]:8.0f}  {100 * r['endpoint_error']:16.2f}  {r['path_ratio']:10.3f}"
            f"  {r['n_speed_peaks']:5d}  {r['movement_time']:12.2f}  {str(r['success']):>7}"
        )
    s = metrics.summary()
    lines.append(
        f"mean      {100 * s['endpoint_error']:16.2f}  {s['path_ratio']:10.3f}  "
        f"{s['n_speed_peaks']:5.2f}  {s['movement_time']:12.2f}  {s['success_rate']:7.0%}"
    )
    return "\n".join(lines)


def run_demo(out_dir: Path, seed: int = 0, batch: int = 8, config: DemoConfig | None = None,
             verbose: bool = True) -> dict:
    """Run the demo, write center_out.png, metrics.csv (and arm_frame.png) under `out_dir`.

    Returns a summary dict: the metric means, the written files and what was skipped.
    """
    cfg = config or DemoConfig(seed=seed, batch=batch)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = run_reaches(cfg)
    dt = float(run["dt"])
    metrics = reach_metrics(run["hand_pos"], run["hand_vel"], run["start"], run["targets"], dt,
                            cfg.reach)
    d = run["targets"] - run["start"]
    directions = np.degrees(np.arctan2(d[:, 1], d[:, 0])) % 360
    files = [out_dir / "metrics.csv", out_dir / "center_out.png"]
    _write_csv(files[0], metrics, directions)
    plot_center_out(run["hand_pos"], run["targets"], run["start"][0], dt, path=files[1],
                          title=f"rehabgym demo: model-based controller, seed {cfg.seed}",
                          tolerance=cfg.reach.success_tolerance)
    skipped: list[str] = []
    if cfg.render:
        frame, reason = render_in_subprocess(
            cfg.arm, run["joint_angle"][0], out_dir, targets=run["targets"][:1])
        if frame is None:
            skipped.append(f"arm_frame.png: {reason}")
        else:
            files.append(frame)
    if verbose:
        print(format_table(metrics, directions))
        for f in files:
            print(f"wrote {f}")
        for s in skipped:
            print(f"skipped {s}")
    return {"metrics": metrics.summary(), "files": [str(f) for f in files], "skipped": skipped,
            "config": cfg}


__all__ = ["DemoConfig", "ReachController", "inverse_kinematics", "run_demo", "run_reaches"]
