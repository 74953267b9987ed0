"""The closed loop: one cortex batch drives one arm batch through a batch of reaches.

This is the only place where torch (the cortex) meets MuJoCo (the arm). Each 10 ms step the
cortex sees the target, delayed proprioception (joint angles and velocities) and delayed vision
of the hand, and sends six muscle excitations to the arms. One path per engine
(`reaching/engines.py`): numpy on the CPU, torch on a device, and for pre-training a
differentiable one whose forward pass is real MuJoCo physics and whose backward pass uses
finite-difference Jacobians of the control period, computed by stepping perturbed copies of
the arms in the same batched call (no gradients through a re-implementation of the physics).
A batch travels as a `ReachBatch` and comes back as a `ReachResult` (`reaching/records.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from rehabgym.arm import Arm, ArmConfig
from rehabgym.arm.arm import N_STATE
from rehabgym.arm.kinematics import hand_position, hand_velocity
from rehabgym.cortex.network import Cortex, Weights, network_step
from rehabgym.reaching.engines import FiniteDifferenceStep, NumpyEngine, TorchEngine
from rehabgym.reaching.records import (
    RECORDERS,
    ArmTrace,
    ReachBatch,
    ReachResult,
    draw_noise,
    recording_arms,
)
from rehabgym.runtime import threads
from rehabgym.runtime.threads import one_blas_thread

N_INPUTS = 8  # target (2), joint angles (2), joint velocities (2), seen hand position (2)
POSITION_SCALE = 0.1  # m: positions enter the cortex in units of 10 cm
VELOCITY_SCALE = 0.2  # joint velocities enter in units of 5 rad/s
_NX = N_STATE - 1  # state the loop tracks per arm: qpos (2), qvel (2), act (6)
#: reaches each thread must have before the brains of a batch are split over threads: below
#: this, a thread's per-step Python work outweighs the arithmetic it would take off the others
MIN_REACHES_PER_THREAD = 64

__all__ = ["ArmTrace", "ClosedLoop", "ReachBatch", "ReachResult", "recording_arms"]


class ClosedLoop:
    """Runs batches of reaches of a cortex driving a batch of arms.

    Args:
        cortex: the network whose configuration (dynamics, delays, noise) the loop uses; its
            own weights drive the arms unless `run` is given the weights of a patient batch.
        arm_config: the arm's parameters.
        nthread: threads of the simulation (default: the machine's cores, at most 8). A batch
            of several brains with enough reaches is split by brain over that many threads,
            each stepping its own brains and arms (numpy and MuJoCo release the GIL); a
            smaller batch steps its arms on them instead (see `Arm`). Splitting changes no
            number: a brain's reaches do not depend on the other brains of the batch. numpy's
            BLAS stays on one thread, so the numbers do not depend on the machine either.
        torch_threads: torch's intra-op threads while the loop works (None: the caller's);
            the caller's setting is back when `run` returns.
        device: where `run` steps the cortex. None: the weights' own device, in numpy when
            that is the CPU (a step is two matrix products there); a torch device ("cpu",
            "cuda"): with torch on that device, the weights copied there for each run and the
            excitations brought back to the arm every step.
    """

    def __init__(self, cortex: Cortex, arm_config: ArmConfig | None = None,
                 nthread: int | None = None, torch_threads: int | None = 1,
                 device: str | torch.device | None = None) -> None:
        # The cortex's matrices are small: one thread beats several (and never oversubscribes
        # the cores the arm's stepping threads use).
        self._torch_threads = torch_threads
        self.cortex = cortex
        self.device = None if device is None else torch.device(device)
        self.arm = Arm(arm_config, batch_size=1, nthread=nthread)
        self._fd_arm: Arm | None = None
        self._parts: list[ClosedLoop] = []  # one loop per thread of a split batch
        # noise drawn a block ahead on a worker thread; the loops of a split batch draw their
        # own, since the split already keeps every core busy
        self._noise_ahead = True
        self.start = self.arm.start_hand_position()
        self.start_q = np.radians(np.asarray(self.arm.config.start_posture, dtype=float))
        self.fd_eps = 1e-6
        self._executors: dict[str, tuple[int, ThreadPoolExecutor]] = {}

    @property
    def dt(self) -> float:
        return self.arm.dt

    @property
    def threads(self) -> int:
        """Threads the loop may use (`nthread`, resolved as the arm resolves it)."""
        return self.arm.nthread

    # ------------------------------------------------------------------ public
    def run(
        self,
        targets: np.ndarray,
        duration: float = 1.0,
        seed: int | torch.Generator | Sequence[torch.Generator] = 0,
        assist_gain: np.ndarray | float | None = None,
        record_rates: bool = False,
        noise: bool = True,
        weights: Weights | None = None,
        reaches: Sequence[int] | None = None,
        record_noise: bool = True,
    ) -> ReachResult:
        """Reaches from the start posture to `targets` (m), with no plasticity.

        `targets` is [B, 2] for the loop's own cortex, or [P, R, 2] with `weights` of P brains
        (R reaches each; results are then flattened to B = P * R, patient-major).
        `assist_gain` (N/m, scalar or per reach) pulls the hand toward its target.

        Each brain draws its noise from its own generator, so a brain's reaches do not depend
        on the other brains of the batch: `seed` is an int (every brain gets the noise of that
        seed), one generator (shared, brain after brain) or one generator per brain.
        `reaches` ([P], default R each) counts each brain's real reaches, the first ones of its
        row; only those draw noise, the padding after them runs noiseless.
        `record_rates` keeps every step's rates and, unless `record_noise` is off, its noise
        (what the reward rule needs; the rates alone are a third less memory).
        """
        # BLAS on one thread: a threaded product rounds differently, so a run's numbers would
        # depend on the machine's cores; the loop's own threads use the cores instead.
        with torch.no_grad(), one_blas_thread(), self._torch():
            w = self.cortex.weights() if weights is None else weights
            if self.device is not None:
                w = Weights(*(t.to(self.device) for t in w))
            batch = ReachBatch.make(targets, duration, self.dt, seed, w.rec.shape[0],
                                    assist_gain, reaches, noise, record_rates, record_noise)
            split = self._split(w, batch)
            result = (self._simulate(batch, w) if split is None
                      else self._run_split(split, batch, w))
        for traces in RECORDERS:
            traces.append(ArmTrace(result.excitation, result.target, batch.assist_gain))
        return result

    def run_differentiable(
        self, targets: np.ndarray, duration: float = 1.0, seed: int | torch.Generator = 0
    ) -> tuple[ReachResult, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reaches whose hand path is differentiable w.r.t. the cortex parameters.

        Returns (result, hand position [B, T+1, 2], hand velocity [B, T+1, 2],
        excitations [B, T, 6], rates [B, T, N]) where the tensors carry gradients. The
        forward pass is MuJoCo's; the backward pass multiplies by finite-difference
        Jacobians of each control period (`_fd_step`).
        """
        with self._torch():
            w = self.cortex.weights()
            batch = ReachBatch.make(targets, duration, self.dt, seed, w.rec.shape[0])
            return self._simulate_differentiable(batch, w)

    # ------------------------------------------------------------------ internals
    def _torch(self) -> Any:
        """torch's threads while the loop works (the caller's setting back after)."""
        return (nullcontext() if self._torch_threads is None
                else threads.torch_threads(self._torch_threads))

    def _split(self, w: Weights, batch: ReachBatch) -> np.ndarray | None:
        """Brain boundaries [k + 1] of the threads a batch is split over, or None (one thread).

        Only a batch of several brains on the CPU, each with a noise generator of its own, is
        split (a generator shared by brains is drawn brain after brain).
        """
        p = batch.p
        if self.threads < 2 or p < 2 or w.rec.device.type != "cpu" \
                or len({id(g) for g in batch.gens}) != p:
            return None
        k = min(self.threads, p, batch.b // MIN_REACHES_PER_THREAD)
        return np.linspace(0, p, k + 1).round().astype(int) if k > 1 else None

    def _run_split(self, bounds: np.ndarray, batch: ReachBatch, w: Weights) -> ReachResult:
        """`run` with brains bounds[j]:bounds[j + 1] simulated by thread j, results in order."""
        k = len(bounds) - 1
        parts = self._part_loops(k)
        record = None
        if batch.record_rates:  # one buffer the threads fill, not parts copied into one
            n, n_out = w.rec.shape[1], w.out.shape[1]
            record = (torch.empty(batch.b, batch.steps, n),
                      (torch.empty if batch.noise else torch.zeros)(
                          batch.b, batch.steps, n + n_out) if batch.record_noise else None)

        def part(j: int) -> ReachResult:
            lo, hi = bounds[j], bounds[j + 1]
            rows = slice(lo * batch.r, hi * batch.r)
            return parts[j]._simulate(
                batch.brains(lo, hi), Weights(*(t[lo:hi] for t in w)),
                None if record is None else tuple(None if x is None else x[rows]
                                                   for x in record))

        results = list(self._pool("brains", self.threads).map(part, range(k)))
        if record is None:
            return ReachResult.concatenate(results)
        return ReachResult.concatenate(
            results, rates=record[0].numpy(),
            noise=None if record[1] is None else record[1].numpy())

    def _part_loops(self, k: int) -> list[ClosedLoop]:
        """k loops on this loop's cortex, one per thread of a split batch (made once)."""
        while len(self._parts) < k:
            part = ClosedLoop(self.cortex, self.arm.config, nthread=1, torch_threads=None,
                              device=self.device)
            part._noise_ahead = False
            self._parts.append(part)
        return self._parts[:k]

    def _simulate(self, batch: ReachBatch, w: Weights,
                  record_into: tuple[torch.Tensor, torch.Tensor | None] | None = None
                  ) -> ReachResult:
        """The batch's reaches on this thread, the cortex stepped by the numpy engine on the
        CPU (`device` None) or by torch on the weights' device; the arm is MuJoCo's.
        `record_into`: the caller's [B, steps, n] and [B, steps, n + 6] (or None) buffers."""
        cfg, b, steps = self.cortex.config, batch.b, batch.steps
        n, n_out = w.rec.shape[1], w.out.shape[1]
        dev = w.rec.device
        engine = (NumpyEngine(w, batch.r) if dev.type == "cpu" and self.device is None
                  else TorchEngine(w, batch.r))
        if record_into is not None:
            rates_rec, noise_rec = record_into
        elif batch.record_rates:  # written in place step by step: no per-step copies
            rates_rec = torch.empty(b, steps, n, device=dev)
            # every entry is written when there is noise; zeros stand for none
            noise_rec = ((torch.empty if batch.noise else torch.zeros)(
                b, steps, n + n_out, device=dev) if batch.record_noise else None)
        else:
            rates_rec = noise_rec = None
        noises, unit = self._noise(batch, w, noise_rec, as_numpy=engine.numpy)
        inputs = engine.inputs.reshape(b, N_INPUTS)
        inputs[:, :2] = (batch.flat_targets - self.start) / POSITION_SCALE  # fixed per reach
        assist = (None, None) if batch.assist_gain is None else (batch.flat_targets,
                                                                 batch.assist_gain)
        self.arm.reset(batch_size=b)
        traj = np.empty((b, steps + 1, _NX))  # qpos, qvel, act after each step
        traj[:, 0] = self.arm.get_physics_state()[:, 1:]
        exc = np.empty((b, steps, n_out), dtype=np.float32)
        rates_out = (rates_rec.numpy() if engine.numpy else rates_rec) \
            if rates_rec is not None else None
        dp, dv = cfg.proprio_delay_steps, cfg.vision_delay_steps
        dt_over_tau = cfg.dt / cfg.tau
        eps_n = eps_o = None
        for t in range(steps):
            self._fill_inputs(inputs, traj[:, max(0, t - dp)], traj[:, max(0, t - dv)])
            if noises is not None:
                eps_n, eps_o = next(noises)
            u = engine.step(dt_over_tau, eps_n, eps_o)
            exc[:, t] = u
            self.arm.step(u, *assist, observe=False)
            traj[:, t + 1] = self.arm.get_physics_state()[:, 1:]
            if rates_out is not None:
                rates_out[:, t] = engine.rates(b)
        traj_t = torch.from_numpy(traj)
        return ReachResult(
            dt=self.dt,
            start=np.broadcast_to(self.start, (b, 2)).copy(),
            target=batch.flat_targets.copy(),
            hand_position=self._hand(traj_t).numpy(),
            hand_velocity=self._hand_velocity(traj_t).numpy(),
            joint_angle=traj[..., :2].copy(),
            excitation=exc.astype(np.float64),
            rates=None if rates_rec is None else rates_rec.cpu().numpy(),
            noise=None if noise_rec is None else noise_rec.view(
                batch.p, batch.r * steps, -1).mul_(unit).view(b, steps, -1).cpu().numpy(),
        )

    def _simulate_differentiable(self, batch: ReachBatch, w: Weights):
        """`run_differentiable`'s engine: torch with gradients, the arm stepped through
        `FiniteDifferenceStep`."""
        cfg, b, steps = self.cortex.config, batch.b, batch.steps
        n, n_out = w.rec.shape[1], w.out.shape[1]
        noises, _ = self._noise(batch, w, None, as_numpy=False)
        # as the CPU engines hold it: in the cortex's float32 input buffer
        target_in = ((batch.flat_targets - self.start) / POSITION_SCALE).astype(np.float32)
        self.arm.reset(batch_size=b)
        hist_x = [torch.as_tensor(self.arm.get_physics_state()[:, 1:])]
        x = torch.zeros(batch.p, batch.r, n)
        r = torch.zeros(batch.p, batch.r, n)
        exc, rate_steps = [], []
        dp, dv = cfg.proprio_delay_steps, cfg.vision_delay_steps
        eps_n = eps_o = None
        for t in range(steps):
            xp, xv = hist_x[max(0, t - dp)], hist_x[max(0, t - dv)]
            if noises is not None:
                eps_n, eps_o = next(noises)
            inp = self._inputs_torch(target_in, xp, xv).reshape(batch.p, batch.r, -1)
            x, r, u = network_step(x, inp, w, cfg.dt / cfg.tau, eps_n, eps_o, r=r)
            u = u.reshape(b, n_out)
            rate_steps.append(r.reshape(b, n))
            hist_x.append(FiniteDifferenceStep.apply(hist_x[-1], u.double(), self))
            exc.append(u)
        traj = torch.stack(hist_x, dim=1)  # [B, T+1, 10]
        hand, vel = self._hand(traj), self._hand_velocity(traj)
        u_all = torch.stack(exc, dim=1)
        result = ReachResult(
            dt=self.dt, start=np.broadcast_to(self.start, (b, 2)).copy(),
            target=batch.flat_targets.copy(), hand_position=hand.detach().numpy(),
            hand_velocity=vel.detach().numpy(), joint_angle=traj[..., :2].detach().numpy(),
            excitation=u_all.detach().numpy().astype(np.float64))
        return result, hand, vel, u_all, torch.stack(rate_steps, 1)

    def _noise(self, batch: ReachBatch, w: Weights, record: torch.Tensor | None,
               as_numpy: bool) -> tuple[Iterator | None, torch.Tensor]:
        """The batch's Ornstein-Uhlenbeck noise, step by step (None without noise), and the
        factor [P, 1, n + 6] that brings it back to unit variance.

        Correlated over `noise_tau`, for the neurons (first n) and the muscle drives (last 6),
        kept scaled by its standard deviation; dead neurons get none. `record` ([B, steps,
        n + 6]) receives each step's noise."""
        cfg = self.cortex.config
        dev = w.rec.device
        decay = float(np.exp(-self.dt / cfg.noise_tau)) if cfg.noise_tau > 0 else 0.0
        std = torch.cat([cfg.noise_std * w.alive,
                         torch.full((batch.p, w.out.shape[1]), cfg.output_noise_std,
                                    device=dev)], 1)[:, None]
        unit = torch.where(std > 0, 1.0 / std.clamp(min=1e-30), 0.0)
        if not batch.noise:
            return None, unit
        n = w.rec.shape[1]
        eps = draw_noise(batch.gens, batch.counts, (batch.p, batch.r, n + w.out.shape[1])).to(dev)
        kick = float(np.sqrt(1.0 - decay**2))
        return self._ou_noise(batch, eps * std, decay, kick * std, n,
                              None if record is None else record.view(batch.p, batch.r,
                                                                      batch.steps, -1),
                              as_numpy), unit

    def _ou_noise(self, batch: ReachBatch, eps: torch.Tensor, decay: float,
                  scale: torch.Tensor, n: int, record: torch.Tensor | None = None,
                  as_numpy: bool = False, block: int = 20):
        """Yields the Ornstein-Uhlenbeck noise of each step as (neurons [P, R, n], muscle
        drives [P, R, n_out]), contiguous: eps <- decay * eps + randn * scale from `eps`.

        A worker thread computes it a block of steps at a time, one block ahead, so drawing
        and the recursion overlap the cortex and arm steps; the generator is only ever used
        in order, so the noise is the same as computing it on this thread. Brain i draws
        `batch.counts[i]` reaches' kicks from `batch.gens[i]` (`draw_noise`). With `record`
        ([P, R, steps, n + n_out]) the worker also writes each step's noise there; with
        `as_numpy` (CPU only) the steps come as numpy arrays.
        """
        state = {"eps": (eps[..., :n], eps[..., n:]), "t": 0}

        def compute(k):
            kicks = draw_noise(batch.gens, batch.counts, (k, *eps.shape), axis=1).to(eps.device)
            kicks.mul_(scale)
            # neurons and muscle drives in buffers of their own (elementwise, so the same
            # numbers as one buffer), contiguous for the steps without a copy
            parts = []
            for prev, cols in zip(state["eps"], (slice(0, n), slice(n, None))):
                out = torch.empty(kicks[..., cols].shape, device=eps.device)
                for i in range(k):
                    prev = torch.mul(prev, decay, out=out[i]).add_(kicks[i, ..., cols])
                parts.append(out)
            del kicks
            state["eps"] = (parts[0][-1], parts[1][-1])
            if record is not None:
                t = state["t"]
                record[:, :, t:t + k, :n] = parts[0].permute(1, 2, 0, 3)
                record[:, :, t:t + k, n:] = parts[1].permute(1, 2, 0, 3)
            state["t"] += k
            return tuple(x.numpy() for x in parts) if as_numpy else tuple(parts)

        sizes = [min(block, batch.steps - t) for t in range(0, batch.steps, block)]
        if not self._noise_ahead:
            for k in sizes:
                yield from zip(*compute(k))
            return
        pool = self._pool("noise", 1)
        pending = pool.submit(compute, sizes[0])
        for i in range(len(sizes)):
            neurons, drives = pending.result()
            if i + 1 < len(sizes):
                pending = pool.submit(compute, sizes[i + 1])
            yield from zip(neurons, drives)

    def _pool(self, name: str, workers: int) -> ThreadPoolExecutor:
        """The loop's worker threads called `name` (made again in a forked child, where
        threads do not survive)."""
        pid, pool = self._executors.get(name, (0, None))
        if pool is None or pid != os.getpid():
            pool = ThreadPoolExecutor(workers, thread_name_prefix=f"rehabgym-{name}")
            self._executors[name] = (os.getpid(), pool)
        return pool

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_executors": {}, "_parts": []}

    def _fill_inputs(self, inputs: np.ndarray, xp: np.ndarray, xv: np.ndarray) -> None:
        """Writes the delayed proprioception (xp) and vision (xv) into inputs[:, 2:]."""
        np.subtract(xp[:, :2], self.start_q, out=inputs[:, 2:4])
        np.multiply(xp[:, 2:4], VELOCITY_SCALE, out=inputs[:, 4:6])
        inputs[:, 6:8] = (self._hand(xv) - self.start) / POSITION_SCALE

    def _inputs_torch(self, target_in: np.ndarray, xp: torch.Tensor,
                      xv: torch.Tensor) -> torch.Tensor:
        """The inputs of `_fill_inputs` as a differentiable function of the arm states."""
        return torch.cat([torch.as_tensor(target_in, dtype=xp.dtype),
                          xp[:, :2] - torch.as_tensor(self.start_q),
                          xp[:, 2:4] * VELOCITY_SCALE,
                          (self._hand(xv) - torch.as_tensor(self.start)) / POSITION_SCALE],
                         1).float()

    def _hand(self, state: Any) -> Any:
        """Hand position [..., 2] of arm states [..., ≥ 2] (joint angles first)."""
        cfg = self.arm.config
        return hand_position(state[..., :2], cfg.upper_arm_length, cfg.forearm_length)

    def _hand_velocity(self, state: Any) -> Any:
        """Hand velocity [..., 2] of arm states [..., ≥ 4] (angles, then velocities)."""
        cfg = self.arm.config
        return hand_velocity(state[..., :2], state[..., 2:4], cfg.upper_arm_length,
                             cfg.forearm_length)

    def _fd_step(self, x: np.ndarray, u: np.ndarray):
        """Step B arms from states x [B, 10] with excitations u [B, 6]; also the Jacobians.

        One batched call steps the nominal arms and 16 one-sided perturbations of each
        (10 state dimensions, 6 controls).
        """
        b, nx, nu = len(x), x.shape[1], u.shape[1]
        k = 1 + nx + nu
        if self._fd_arm is None:
            self._fd_arm = Arm(self.arm.config, batch_size=b * k, nthread=self.threads)
        eps = self.fd_eps
        xs = np.repeat(x[:, None, :], k, axis=1)
        us = np.repeat(u[:, None, :], k, axis=1)
        idx = np.arange(nx)
        xs[:, 1 + idx, idx] += eps
        # Controls at 1 are perturbed downwards so they stay in [0, 1].
        du = np.where(u > 1 - eps, -eps, eps)
        jdx = np.arange(nu)
        us[:, 1 + nx + jdx, jdx] += du
        state = np.zeros((b * k, N_STATE))
        state[:, 1:] = xs.reshape(b * k, nx)
        self._fd_arm.set_physics_state(state)
        self._fd_arm.step(us.reshape(b * k, nu))
        out = self._fd_arm.get_physics_state()[:, 1:].reshape(b, k, nx)
        x_next = out[:, 0]
        jac_x = (out[:, 1:1 + nx] - x_next[:, None]).transpose(0, 2, 1) / eps
        jac_u = (out[:, 1 + nx:] - x_next[:, None]).transpose(0, 2, 1) / du[:, None, :]
        return x_next, jac_x, jac_u
