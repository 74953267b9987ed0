"""Healthy pre-training: teach the pre-stroke cortex to reach, in closed loop with the arm.

Method: backpropagation through time where the forward pass is MuJoCo itself and the backward
pass uses finite-difference Jacobians of each 10 ms control period
(`ClosedLoop.run_differentiable`).
The hand is asked to follow a minimum-jerk path (Flash & Hogan 1985) to the target and hold
there, with a small effort cost; noise is on throughout, so the network learns to
reach with the noise it will have as a patient. Deterministic for a seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from rehabgym.arm import ArmConfig
from rehabgym.config import (
    ConfigError,
    Count,
    Fraction,
    NonNegative,
    NonNegativeInt,
    Positive,
    Range,
    check_fields,
    save_config,
)
from rehabgym.cortex.network import Cortex, CortexConfig
from rehabgym.healthy.checkpoint import CHECKPOINT_NAME, save_checkpoint
from rehabgym.reaching.loop import N_INPUTS, ClosedLoop
from rehabgym.reaching.targets import center_out_targets, minimum_jerk
from rehabgym.runtime.threads import on_one_torch_thread


@dataclass
class PretrainConfig:
    """Every default of healthy pre-training."""

    cortex: CortexConfig = field(default_factory=CortexConfig)
    arm: ArmConfig = field(default_factory=ArmConfig)
    seed: NonNegativeInt = 0
    iterations: NonNegativeInt = 800
    batch_center_out: NonNegativeInt = 2  # repeats of the 8 center-out targets per batch
    batch_random: NonNegativeInt = 16  # random targets per batch (uniform direction, distance)
    random_distance: tuple[Positive, Positive] = (0.04, 0.12)  # m
    radius: Positive = 0.10  # m, center-out distance
    duration: Positive = 1.0  # s per reach
    movement_onset: NonNegative = 0.05  # s, start of the reference path
    movement_time: Positive = 0.5  # s, duration of the minimum-jerk reference
    learning_rate: Positive = 3e-3
    lr_final_fraction: Fraction = 0.05  # cosine decay to this fraction
    grad_clip: Positive = 1.0
    velocity_weight: NonNegative = 0.5
    #: extra weight on hand speed once the reference path has ended (the hold phase): a
    #: reach only succeeds if the hand is still at the end, so the network must learn to damp
    #: its own noise (by co-contraction), not only to arrive
    hold_speed_weight: NonNegative = 0.5
    effort_weight: NonNegative = 1.0
    #: cost of the neurons' mean squared rate (a metabolic cost, as in Sussillo et al. 2015):
    #: with it the network keeps neurons quiet unless a direction needs them, so directions
    #: are coded by less overlapping populations
    rate_weight: NonNegative = 0.0
    eval_every: Count = 50
    nthread: Annotated[int, Range(1, 64)] = 2

    def __post_init__(self) -> None:
        check_fields(self)
        if self.batch_center_out + self.batch_random == 0:
            raise ConfigError("batch_center_out + batch_random: at least one reach per batch")


def _batch_targets(cfg: PretrainConfig, start: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fixed = np.tile(center_out_targets(start, 8, cfg.radius), (cfg.batch_center_out, 1))
    ang = rng.uniform(0, 2 * np.pi, cfg.batch_random)
    dist = rng.uniform(*cfg.random_distance, cfg.batch_random)
    rand = start + dist[:, None] * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return np.concatenate([fixed, rand])


@on_one_torch_thread
def pretrain(cfg: PretrainConfig, out_dir: Path | None = None, progress: bool = True) -> Cortex:
    """Train a healthy cortex; log to TensorBoard and save the checkpoint under `out_dir`
    (torch on one thread, so the checkpoint does not depend on the machine's cores)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    cortex = Cortex(cfg.cortex, n_inputs=N_INPUTS)
    loop = ClosedLoop(cortex, cfg.arm, nthread=cfg.nthread)
    opt = torch.optim.Adam(cortex.parameters(), lr=cfg.learning_rate)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, max(1, cfg.iterations), eta_min=cfg.learning_rate * cfg.lr_final_fraction)
    writer = None
    if out_dir is not None:
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
        res, hand, vel, u, rates = loop.run_differentiable(targets, cfg.duration,
                                                           seed=noise_gen)
        pos_err = ((hand - torch.as_tensor(ref_p)) / 0.01).pow(2).sum(-1).mean()
        vel_err = ((vel - torch.as_tensor(ref_v)) / 0.01).pow(2).sum(-1).mean()
        hold_speed = (vel[:, hold] / 0.01).pow(2).sum(-1).mean()
        effort = u.pow(2).sum(-1).mean()
        rate_cost = rates.pow(2).mean()
        loss = (pos_err + cfg.velocity_weight * vel_err + cfg.hold_speed_weight * hold_speed
                + cfg.effort_weight * effort + cfg.rate_weight * rate_cost)
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
            writer.add_scalar("pretrain/mean_squared_rate", rate_cost.item(), it)
            writer.add_scalar("pretrain/learning_rate", sched.get_last_lr()[0], it)
    if writer is not None:
        writer.add_scalar("pretrain/wall_seconds", time.perf_counter() - t0, cfg.iterations)
        writer.close()
        save_checkpoint(cortex, cfg.arm, out_dir / CHECKPOINT_NAME)
    return cortex
