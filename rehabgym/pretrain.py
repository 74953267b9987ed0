"""Healthy pre-training: teach the pre-stroke cortex to reach, in closed loop with the arm.

Method: backpropagation through time where the forward pass is MuJoCo itself and the backward
pass uses finite-difference Jacobians of each 10 ms control period
(`ClosedLoop.run_differentiable`).
The hand is asked to follow a minimum-jerk path (Flash & Hogan 1985) to the target and hold
there, with small effort and rate costs; noise is on throughout, so the network learns to
reach with the noise it will have as a patient. Deterministic for a seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from rehabgym.arm import ArmConfig
from rehabgym.config import from_dict, save_config, to_dict
from rehabgym.cortex.network import Cortex, CortexConfig
from rehabgym.reaching.loop import N_INPUTS, ClosedLoop
from rehabgym.reaching.targets import center_out_targets

CHECKPOINT_NAME = "healthy_cortex.pt"


@dataclass
class PretrainConfig:
    """Every default of healthy pre-training."""

    cortex: CortexConfig = field(default_factory=CortexConfig)
    arm: ArmConfig = field(default_factory=ArmConfig)
    seed: int = 0
    iterations: int = 800
    batch_center_out: int = 2  # repeats of the 8 center-out targets per batch
    batch_random: int = 16  # random targets per batch (direction uniform, distance range)
    random_distance: tuple[float, float] = (0.04, 0.12)  # m
    radius: float = 0.10  # m, center-out distance
    duration: float = 1.0  # s per reach
    movement_onset: float = 0.05  # s, start of the reference path
    movement_time: float = 0.5  # s, duration of the minimum-jerk reference
    learning_rate: float = 3e-3
    lr_final_fraction: float = 0.05  # cosine decay to this fraction
    grad_clip: float = 1.0
    velocity_weight: float = 0.5
    #: extra weight on hand speed once the reference path has ended (the hold phase): a
    #: reach only succeeds if the hand is still at the end, so the network must learn to damp
    #: its own noise (by co-contraction), not only to arrive
    hold_speed_weight: float = 0.5
    effort_weight: float = 1.0
    eval_every: int = 50
    nthread: int = 2

    def __post_init__(self) -> None:
        if self.iterations < 0:
            raise ValueError(f"iterations: must be >= 0, got {self.iterations}")
        if self.batch_center_out < 0 or self.batch_random < 0:
            raise ValueError("batch_center_out, batch_random: must be >= 0")
        if self.batch_center_out + self.batch_random == 0:
            raise ValueError("batch_center_out + batch_random: at least one reach per batch")


def minimum_jerk(start: np.ndarray, target: np.ndarray, t: np.ndarray, onset: float,
                 duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-jerk positions and velocities [B, T, 2] from start [B, 2] to target [B, 2]."""
    s = np.clip((t - onset) / duration, 0.0, 1.0)[None, :, None]
    pos = start[:, None] + (target - start)[:, None] * (10 * s**3 - 15 * s**4 + 6 * s**5)
    ds = ((t >= onset) & (t <= onset + duration))[None, :, None] / duration
    vel = (target - start)[:, None] * (30 * s**2 - 60 * s**3 + 30 * s**4) * ds
    return pos, vel


def _batch_targets(cfg: PretrainConfig, start: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fixed = np.tile(center_out_targets(start, 8, cfg.radius), (cfg.batch_center_out, 1))
    ang = rng.uniform(0, 2 * np.pi, cfg.batch_random)
    dist = rng.uniform(*cfg.random_distance, cfg.batch_random)
    rand = start + dist[:, None] * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return np.concatenate([fixed, rand])


def pretrain(cfg: PretrainConfig, out_dir: Path | None = None, progress: bool = True) -> Cortex:
    """Train a healthy cortex; log to TensorBoard and save the checkpoint under `out_dir`."""
    from tqdm import tqdm

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    cortex = Cortex(cfg.cortex, n_inputs=N_INPUTS)
    loop = ClosedLoop(cortex, cfg.arm, nthread=cfg.nthread)
    opt = torch.optim.Adam(cortex.parameters(), lr=cfg.learning_rate)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, max(1, cfg.iterations), eta_min=cfg.learning_rate * cfg.lr_final_fraction)
    writer = None
    if out_dir is not None:
        from torch.utils.tensorboard import SummaryWriter

        out_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out_dir / "config.yaml")
        writer = SummaryWriter(str(out_dir))
    steps = int(round(cfg.duration / loop.dt))
    t = np.arange(steps + 1) * loop.dt
    hold = torch.as_tensor(t > cfg.movement_onset + cfg.movement_time)
    noise_gen = torch.Generator().manual_seed(cfg.seed + 12345)
    bar = tqdm(range(cfg.iterations), desc="pretrain", disable=not progress)
    t0 = time.perf_counter()
    for it in bar:
        targets = _batch_targets(cfg, loop.start, rng)
        start = np.broadcast_to(loop.start, targets.shape)
        ref_p, ref_v = minimum_jerk(start, targets, t, cfg.movement_onset, cfg.movement_time)
        res, hand, vel, u = loop.run_differentiable(targets, cfg.duration, seed=noise_gen)
        pos_err = ((hand - torch.as_tensor(ref_p)) / 0.01).pow(2).sum(-1).mean()
        vel_err = ((vel - torch.as_tensor(ref_v)) / 0.01).pow(2).sum(-1).mean()
        hold_speed = (vel[:, hold] / 0.01).pow(2).sum(-1).mean()
        effort = u.pow(2).sum(-1).mean()
        loss = (pos_err + cfg.velocity_weight * vel_err + cfg.hold_speed_weight * hold_speed
                + cfg.effort_weight * effort)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(cortex.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        end_err = float(np.linalg.norm(res.hand_position[:, -1] - targets, axis=1).mean())
        bar.set_postfix(loss=f"{loss.item():.2f}", end_cm=f"{100 * end_err:.2f}")
        if writer is not None:
            writer.add_scalar("pretrain/loss", loss.item(), it)
            writer.add_scalar("pretrain/position_error_cm", pos_err.sqrt().item(), it)
            writer.add_scalar("pretrain/endpoint_error_cm", 100 * end_err, it)
            writer.add_scalar("pretrain/hold_speed_cm_s", hold_speed.sqrt().item(), it)
            writer.add_scalar("pretrain/effort", effort.item(), it)
            writer.add_scalar("pretrain/learning_rate", sched.get_last_lr()[0], it)
    if writer is not None:
        writer.add_scalar("pretrain/wall_seconds", time.perf_counter() - t0, cfg.iterations)
        writer.close()
        save_checkpoint(cortex, cfg.arm, out_dir / CHECKPOINT_NAME)
    return cortex


def save_checkpoint(cortex: Cortex, arm_config: ArmConfig, path: Path) -> None:
    """Save the cortex (weights, masks, config) and the arm config it was trained with."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in cortex.state_dict().items()}
    torch.save({"cortex_config": to_dict(cortex.config), "arm_config": to_dict(arm_config),
                "n_inputs": cortex.n_inputs, "state_dict": state}, path)


def load_checkpoint(path: str | Path | None = None) -> tuple[Cortex, ArmConfig]:
    """Load a cortex checkpoint; without a path, the healthy one shipped with the package."""
    if path is None:
        path = resources.files("rehabgym") / "assets" / CHECKPOINT_NAME
    with resources.as_file(path) if not isinstance(path, (str, Path)) else _nullcontext(path) as p:
        data = torch.load(p, map_location="cpu", weights_only=True)
    cortex = Cortex(from_dict(CortexConfig, data["cortex_config"]), n_inputs=data["n_inputs"])
    cortex.load_state_dict(data["state_dict"])
    return cortex, from_dict(ArmConfig, data["arm_config"])


class _nullcontext:
    def __init__(self, value):
        self.value = Path(value)

    def __enter__(self):
        if not self.value.is_file():
            raise FileNotFoundError(f"checkpoint not found: {self.value}")
        return self.value

    def __exit__(self, *exc):
        return False


def evaluate_healthy(cortex: Cortex, arm_config: ArmConfig, out: Path | None = None,
                     seed: int = 0, repeats: int = 4, verbose: bool = True) -> dict:
    """Closed-loop reaches to the 8 center-out targets (noise on) against the healthy criteria.

    Criteria (Morasso 1981; Flash & Hogan 1985): endpoint error < 1 cm on average and < 1.5 cm
    on the worst target, success on >= 95 % of reaches, path length / straight distance <= 1.15,
    one speed peak on >= 7 of 8 targets. Saves the center-out figure and the sheet under `out`.
    """
    from rehabgym.cortex.figures import plot_sheet
    from rehabgym.reaching.figures import plot_center_out

    loop = ClosedLoop(cortex, arm_config)
    targets = np.tile(center_out_targets(loop.start, 8, 0.10), (repeats, 1))
    res = loop.run(targets, 1.0, seed=seed)
    m = res.metrics()
    err = m.endpoint_error.reshape(repeats, 8)
    peaks = m.n_speed_peaks.reshape(repeats, 8)
    one_peak = int((np.median(peaks, axis=0) == 1).sum())
    figures = {
        "endpoint_error_cm": 100 * float(err.mean()),
        "worst_target_error_cm": 100 * float(err.mean(0).max()),
        "success_rate": float(m.success.mean()),
        "path_ratio": float(np.nanmean(m.path_ratio)),
        "targets_with_one_speed_peak": one_peak,
        "peak_speed": float(np.nanmean(m.peak_speed)),
        "movement_time": float(np.nanmean(m.movement_time)),
    }
    checks = {
        "endpoint_error_cm": figures["endpoint_error_cm"] < 1.0,
        "worst_target_error_cm": figures["worst_target_error_cm"] < 1.5,
        "success_rate": figures["success_rate"] >= 0.95,
        "path_ratio": figures["path_ratio"] <= 1.15,
        "targets_with_one_speed_peak": one_peak >= 7,
    }
    figures["passed"] = all(checks.values())
    if verbose:
        print(f"healthy reaching (8 targets x {repeats}, noise on):")
        for k, v in figures.items():
            if k != "passed":
                mark = "" if k not in checks else ("  ok" if checks[k] else "  FAIL")
                print(f"  {k:30s} {v:8.3f}{mark}" if isinstance(v, float) else
                      f"  {k:30s} {v:8d}{mark}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        fig1 = plot_center_out(res.hand_position[:8], res.target[:8], loop.start, res.dt,
                               path=out / "healthy_reaches.png", title="healthy cortex")
        fig2 = plot_sheet(cortex.sheet, path=out / "cortical_sheet.png")
        from torch.utils.tensorboard import SummaryWriter

        with SummaryWriter(str(out)) as w:
            for k, v in figures.items():
                w.add_scalar(f"healthy/{k}", float(v), 0)
            w.add_figure("healthy/reaches", fig1, 0)
            w.add_figure("cortex/sheet", fig2, 0)
        (out / "healthy.json").write_text(__import__("json").dumps(figures, indent=1))
    return figures
