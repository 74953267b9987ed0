"""The closed loop: one cortex batch drives one arm batch through a batch of reaches.

This is the only place where torch (the cortex) meets MuJoCo (the arm). Each 10 ms step the
cortex sees the target, delayed proprioception (joint angles and velocities) and delayed vision
of the hand, and sends six muscle excitations to the arms. For pre-training, the arm step can
be made differentiable: the forward pass is real MuJoCo physics and the backward pass uses
finite-difference Jacobians of the control period, computed by stepping perturbed copies of
the arms in the same batched call (no gradients through a re-implementation of the physics).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from rehabgym.arm import Arm, ArmConfig
from rehabgym.arm.arm import N_STATE
from rehabgym.cortex.network import Cortex, NumpyStep, Weights, network_step
from rehabgym.reaching import threads
from rehabgym.reaching.metrics import ReachMetrics, reach_metrics
from rehabgym.reaching.targets import ReachConfig
from rehabgym.reaching.threads import one_blas_thread

N_INPUTS = 8  # target (2), joint angles (2), joint velocities (2), seen hand position (2)
POSITION_SCALE = 0.1  # m: positions enter the cortex in units of 10 cm
VELOCITY_SCALE = 0.2  # joint velocities enter in units of 5 rad/s
_NX = N_STATE - 1  # state the loop tracks per arm: qpos (2), qvel (2), act (6)
#: reaches each thread must have before the brains of a batch are split over threads: below
#: this, a thread's per-step Python work outweighs the arithmetic it would take off the others
MIN_REACHES_PER_THREAD = 64


@dataclass
class ReachResult:
    """Trajectories of a batch of reaches (numpy, batch first; T steps of `dt`)."""

    dt: float
    start: np.ndarray  # [B, 2]
    target: np.ndarray  # [B, 2]
    hand_position: np.ndarray  # [B, T + 1, 2]
    hand_velocity: np.ndarray  # [B, T + 1, 2]
    joint_angle: np.ndarray  # [B, T + 1, 2]
    excitation: np.ndarray  # [B, T, 6]
    rates: np.ndarray | None = None  # [B, T, N] rates after each step, when recorded
    #: [B, T, N + 6] unit-variance noise of each step (neurons, then muscle drive)
    noise: np.ndarray | None = None

    @classmethod
    def concatenate(cls, parts: Sequence[ReachResult], **given: np.ndarray) -> ReachResult:
        """The reaches of `parts` (same `dt` and length) as one batch, in order; fields in
        `given` are taken as they are (already the whole batch's)."""
        def cat(name):
            arrays = [getattr(r, name) for r in parts]
            return None if arrays[0] is None else np.concatenate(arrays)

        return cls(parts[0].dt, **{f.name: given[f.name] if f.name in given else cat(f.name)
                                   for f in fields(cls)[1:]})

    def metrics(self, config: ReachConfig | None = None) -> ReachMetrics:
        """Reach metrics of this batch."""
        return reach_metrics(self.hand_position, self.hand_velocity, self.start, self.target,
                             self.dt, config or ReachConfig())


@dataclass(frozen=True)
class ArmTrace:
    """What the arms of one `ClosedLoop.run` were given: enough to step the same arms through
    the same reaches without the cortex (`rehabgym bench floor` times that replay)."""

    excitation: np.ndarray  # [B, T, 6]
    target: np.ndarray  # [B, 2]
    assist_gain: np.ndarray | None  # [B] N/m, or None without assistance


_RECORDERS: list[list[ArmTrace]] = []


@contextmanager
def recording_arms() -> Iterator[list[ArmTrace]]:
    """A list that every `ClosedLoop.run` of this process appends its `ArmTrace` to while the
    block runs (for benchmarks: nothing is recorded outside such a block)."""
    traces: list[ArmTrace] = []
    _RECORDERS.append(traces)
    try:
        yield traces
    finally:
        _RECORDERS.remove(traces)


class _FiniteDifferenceStep(torch.autograd.Function):
    """Arm step whose backward pass multiplies by finite-difference Jacobians."""

    @staticmethod
    def forward(ctx, x, u, loop):  # noqa: D401 - torch signature
        x_next, jac_x, jac_u = loop._fd_step(x.detach().numpy(), u.detach().numpy())
        ctx.save_for_backward(torch.as_tensor(jac_x, dtype=x.dtype),
                              torch.as_tensor(jac_u, dtype=x.dtype))
        return torch.as_tensor(x_next, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        jac_x, jac_u = ctx.saved_tensors
        return (torch.einsum("bi,bij->bj", grad, jac_x),
                torch.einsum("bi,bij->bj", grad, jac_u), None)


def _generators(seed: int | torch.Generator | Sequence[torch.Generator],
                p: int) -> list[torch.Generator]:
    """One noise generator per brain (see `ClosedLoop.run`)."""
    if isinstance(seed, torch.Generator):
        return [seed] * p
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [torch.Generator().manual_seed(int(seed)) for _ in range(p)]
    gens = list(seed)
    if len(gens) != p or not all(isinstance(g, torch.Generator) for g in gens):
        raise ValueError(f"seed: expected an int, a torch.Generator or {p} generators (one "
                         f"per brain), got {seed!r}")
    return gens


def _draw(gens: list[torch.Generator], counts: list[int], shape: tuple[int, ...],
          axis: int = 0) -> torch.Tensor:
    """Standard normal numbers of `shape` whose dimension `axis` is the brain and the next
    one its reaches: brain i's first counts[i] reaches come from gens[i], the rest are zero."""
    lead, r, tail = shape[:axis], shape[axis + 1], shape[axis + 2:]
    if len(gens) == 1 and counts[0] == r:
        return torch.randn(shape, generator=gens[0])
    out = torch.empty(shape)
    for i, (gen, c) in enumerate(zip(gens, counts)):
        rows = out.select(axis, i)
        rows[(slice(None),) * axis + (slice(0, c),)] = torch.randn(*lead, c, *tail,
                                                                    generator=gen)
        rows[(slice(None),) * axis + (slice(c, r),)] = 0.0
    return out


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
            split = self._split(w, targets, seed, reaches)
            if split is None:
                result = self._simulate(targets, duration, seed, assist_gain, record_rates,
                                        noise, w, differentiable=False, reaches=reaches,
                                        record_noise=record_noise)[0]
            else:
                result = self._run_split(split, targets, duration, seed, assist_gain,
                                         record_rates, noise, w, reaches, record_noise)
        for traces in _RECORDERS:
            gain = None if assist_gain is None else np.broadcast_to(
                np.asarray(assist_gain, float), (len(result.target),)).copy()
            traces.append(ArmTrace(result.excitation, result.target, gain))
        return result

    def run_differentiable(
        self, targets: np.ndarray, duration: float = 1.0, seed: int | torch.Generator = 0
    ) -> tuple[ReachResult, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reaches whose hand path is differentiable w.r.t. the cortex parameters.

        Returns (result, hand position [B, T+1, 2], hand velocity [B, T+1, 2],
        excitations [B, T, 6], rates [B, T, N]) where the tensors carry gradients.
        """
        with self._torch():
            return self._simulate(targets, duration, seed, None, False, True, None,
                                  differentiable=True)

    # ------------------------------------------------------------------ internals
    def _torch(self) -> Any:
        """torch's threads while the loop works (the caller's setting back after)."""
        return (nullcontext() if self._torch_threads is None
                else threads.torch_threads(self._torch_threads))

    def _split(self, w: Weights, targets: np.ndarray, seed, reaches) -> np.ndarray | None:
        """Brain boundaries [k + 1] of the threads a batch is split over, or None (one thread).

        Only a well-formed batch of several brains on the CPU, each with a noise generator of
        its own, is split (a generator shared by brains is drawn brain after brain); anything
        else runs unsplit, where a bad argument gets its error.
        """
        p = w.rec.shape[0]
        shape = np.shape(targets)
        if self.threads < 2 or p < 2 or w.rec.device.type != "cpu" or len(shape) != 3 \
                or shape[0] != p:
            return None
        if reaches is not None and (len(reaches) != p
                                    or not all(0 <= c <= shape[1] for c in reaches)):
            return None
        if not isinstance(seed, (int, np.integer)):
            gens = list(seed) if not isinstance(seed, torch.Generator) else [seed]
            if len({id(g) for g in gens}) != p:
                return None
        k = min(self.threads, p, p * shape[1] // MIN_REACHES_PER_THREAD)
        return np.linspace(0, p, k + 1).round().astype(int) if k > 1 else None

    def _run_split(self, bounds: np.ndarray, targets, duration, seed, assist_gain,
                   record_rates, noise, w: Weights, reaches, record_noise=True) -> ReachResult:
        """`run` with brains bounds[j]:bounds[j + 1] simulated by thread j, results in order."""
        targets = np.asarray(targets, dtype=float)
        p, r_per = targets.shape[:2]
        one_seed = isinstance(seed, (int, np.integer))  # else one generator per brain
        seeds = None if one_seed else list(seed)
        gain = None if assist_gain is None else np.broadcast_to(
            np.asarray(assist_gain, float), (p * r_per,)).reshape(p, r_per)
        k = len(bounds) - 1
        parts = self._part_loops(k)
        record = None
        if record_rates:  # one buffer the threads fill, instead of copying their parts into one
            steps, n, n_out = max(0, int(round(duration / self.dt))), w.rec.shape[1], \
                w.out.shape[1]
            record = (torch.empty(p * r_per, steps, n),
                      (torch.empty if noise else torch.zeros)(p * r_per, steps, n + n_out)
                      if record_noise else None)

        def part(j: int) -> ReachResult:
            sl = slice(bounds[j], bounds[j + 1])
            rows = slice(bounds[j] * r_per, bounds[j + 1] * r_per)
            return parts[j]._simulate(
                targets[sl], duration, seed if one_seed else seeds[sl],
                None if gain is None else gain[sl].ravel(), record_rates, noise,
                Weights(*(t[sl] for t in w)), differentiable=False,
                reaches=None if reaches is None else list(reaches)[sl],
                record_into=None if record is None else tuple(
                    None if x is None else x[rows] for x in record),
                record_noise=record_noise)[0]

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

    def _simulate(self, targets, duration, seed, assist_gain, record_rates, noise, weights,
                  differentiable, reaches=None, record_into=None, record_noise=True):
        targets = np.asarray(targets, dtype=float)
        w = self.cortex.weights() if weights is None else weights
        n_brains = w.rec.shape[0]
        if targets.ndim == 2 and n_brains == 1:
            targets = targets[None]
        if (targets.ndim != 3 or targets.shape[0] != n_brains or targets.shape[2] != 2
                or not np.all(np.isfinite(targets))):
            raise ValueError(f"targets: expected finite array of shape ({n_brains}, R, 2) or "
                             f"(B, 2) for one brain, got {targets.shape}")
        p, r_per, _ = targets.shape
        b = p * r_per
        flat_targets = targets.reshape(b, 2)
        steps = int(round(duration / self.dt))
        if steps < 1:
            raise ValueError(f"duration: must be at least one step ({self.dt} s), got {duration}")
        gens = _generators(seed, p)
        counts = [r_per] * p if reaches is None else [int(c) for c in reaches]
        if len(counts) != p or not all(0 <= c <= r_per for c in counts):
            raise ValueError(f"reaches: expected {p} counts in 0..{r_per}, got {reaches!r}")
        cfg = self.cortex.config
        dev = w.rec.device
        n = w.rec.shape[1]
        dp, dv = cfg.proprio_delay_steps, cfg.vision_delay_steps
        dt_over_tau = cfg.dt / cfg.tau

        self.arm.reset(batch_size=b)
        arm_x = self.arm.get_physics_state()[:, 1:]  # [B, 10]
        assist = (None, None)
        if assist_gain is not None:
            assist = (flat_targets, np.broadcast_to(np.asarray(assist_gain, float), (b,)))
        n_out = w.out.shape[1]

        # Ornstein-Uhlenbeck noise, correlated over cfg.noise_tau, for the neurons (first n)
        # and the muscle drives (last n_out), kept scaled by its standard deviation; dead
        # neurons get none. A worker computes it a block of steps ahead (`_ou_noise`).
        decay = float(np.exp(-self.dt / cfg.noise_tau)) if cfg.noise_tau > 0 else 0.0
        kick = float(np.sqrt(1.0 - decay**2))
        std = torch.cat([cfg.noise_std * w.alive,
                         torch.full((p, n_out), cfg.output_noise_std, device=dev)], 1)[:, None]
        unit = torch.where(std > 0, 1.0 / std.clamp(min=1e-30), 0.0)  # back to unit variance
        # On the CPU without gradients the network steps in numpy (`NumpyStep`), which also
        # holds the input buffer; otherwise `network_step` runs on the weights' device.
        fast = not differentiable and dev.type == "cpu" and self.device is None
        keep_noise = record_rates and record_noise
        if record_into is not None:  # a caller's [B, steps, n] and [B, steps, n + n_out] or None
            rates_rec, noise_rec = record_into
        elif record_rates:  # written in place step by step: no per-step copies to stack
            rates_rec = torch.empty(b, steps, n, device=dev)
            # every entry is written when there is noise; zeros stand for none
            noise_rec = ((torch.empty if noise else torch.zeros)(b, steps, n + n_out, device=dev)
                         if keep_noise else None)
        if noise:
            eps = _draw(gens, counts, (p, r_per, n + n_out)).to(dev) * std
            noises = self._ou_noise(gens, counts, eps, decay, kick * std, steps, n,
                                    noise_rec.view(p, r_per, steps, -1) if keep_noise else None,
                                    as_numpy=fast)
        step = NumpyStep(w, r_per) if fast else None
        inputs = step.inputs.reshape(b, N_INPUTS) if fast else np.zeros((b, N_INPUTS),
                                                                         dtype=np.float32)
        inputs[:, :2] = (flat_targets - self.start) / POSITION_SCALE  # fixed per reach
        x = torch.zeros(p, r_per, n, device=dev)
        r = torch.zeros(p, r_per, n, device=dev)
        hist_x = [torch.as_tensor(arm_x) if differentiable else arm_x]
        exc = []
        rate_steps = []  # the differentiable path's rates, for a rate cost
        eps_n = eps_o = None
        if record_rates:
            rates_out = rates_rec.numpy() if fast else rates_rec
        for t in range(steps):
            xp, xv = hist_x[max(0, t - dp)], hist_x[max(0, t - dv)]
            if noise:
                eps_n, eps_o = next(noises)
            if differentiable:
                inp = self._inputs_torch(inputs[:, :2], xp, xv).reshape(p, r_per, -1).to(dev)
                x, r, u = network_step(x, inp, w, dt_over_tau, eps_n, eps_o, r=r)
                u = u.reshape(b, n_out)
                rate_steps.append(r.reshape(b, n))
                hist_x.append(_FiniteDifferenceStep.apply(hist_x[-1], u.double().cpu(), self))
            else:
                self._fill_inputs(inputs, xp, xv)
                if fast:
                    u = step(dt_over_tau, eps_n, eps_o).reshape(b, n_out)
                    r = step.r
                else:
                    inp = torch.from_numpy(inputs).reshape(p, r_per, -1).to(dev)
                    x, r, u = network_step(x, inp, w, dt_over_tau, eps_n, eps_o, r=r)
                    u = u.reshape(b, n_out).cpu().numpy()
                self.arm.step(u, *assist, observe=False)
                hist_x.append(self.arm.get_physics_state()[:, 1:])
                u = torch.from_numpy(u.copy())
            exc.append(u)
            if record_rates:
                rates_out[:, t] = r.reshape(b, n)
        if not differentiable:
            hist_x = [torch.from_numpy(h) for h in hist_x]
        traj = torch.stack(hist_x, dim=1)  # [B, T+1, 10]
        hand = self._hand(traj[..., :2])
        vel = self._hand_velocity(traj[..., :2], traj[..., 2:4])
        u_all = torch.stack(exc, dim=1)
        result = ReachResult(
            dt=self.dt,
            start=np.broadcast_to(self.start, (b, 2)).copy(),
            target=flat_targets.copy(),
            hand_position=hand.detach().numpy(),
            hand_velocity=vel.detach().numpy(),
            joint_angle=traj[..., :2].detach().numpy(),
            excitation=u_all.detach().cpu().numpy().astype(np.float64),
            rates=rates_rec.cpu().numpy() if record_rates else None,
            noise=(noise_rec.view(p, r_per * steps, -1).mul_(unit).view(b, steps, -1)
                   .cpu().numpy() if keep_noise else None),
        )
        return result, hand, vel, u_all, (torch.stack(rate_steps, 1) if differentiable else None)

    def _ou_noise(self, gens: list[torch.Generator], counts: list[int], eps: torch.Tensor,
                  decay: float,
                  scale: torch.Tensor, steps: int, n: int, record: torch.Tensor | None = None,
                  as_numpy: bool = False, block: int = 20):
        """Yields the Ornstein-Uhlenbeck noise of each step as (neurons [P, R, n], muscle
        drives [P, R, n_out]), contiguous: eps <- decay * eps + randn * scale from `eps`.

        A worker thread computes it a block of steps at a time, one block ahead, so drawing
        and the recursion overlap the cortex and arm steps; the generator is only ever used
        in order, so the noise is the same as computing it on this thread. Brain i draws
        `counts[i]` reaches' kicks from `gens[i]` (`_draw`). With `record`
        ([P, R, steps, n + n_out]) the worker also writes each step's noise there; with
        `as_numpy` (CPU only) the steps come as numpy arrays.
        """
        state = {"eps": (eps[..., :n], eps[..., n:]), "t": 0}

        def compute(k):
            kicks = _draw(gens, counts, (k, *eps.shape), axis=1).to(eps.device)
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

        sizes = [min(block, steps - t) for t in range(0, steps, block)]
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
        inputs[:, 6:8] = (self._hand(xv[:, :2], np) - self.start) / POSITION_SCALE

    def _inputs_torch(self, target_in: np.ndarray, xp: torch.Tensor,
                      xv: torch.Tensor) -> torch.Tensor:
        """The inputs of `_fill_inputs` as a differentiable function of the arm states."""
        seen = self._hand(xv[:, :2])
        return torch.cat([torch.as_tensor(target_in, dtype=xp.dtype),
                          xp[:, :2] - torch.as_tensor(self.start_q),
                          xp[:, 2:4] * VELOCITY_SCALE,
                          (seen - torch.as_tensor(self.start)) / POSITION_SCALE], 1).float()

    def _hand(self, q, lib=torch):
        """Hand position [..., 2] from joint angles q [..., 2] (numpy or torch, as `lib`)."""
        l1, l2 = self.arm.config.upper_arm_length, self.arm.config.forearm_length
        q1, q12 = q[..., 0], q[..., 0] + q[..., 1]
        if lib is not np:
            return lib.stack([l1 * lib.cos(q1) + l2 * lib.cos(q12),
                              l1 * lib.sin(q1) + l2 * lib.sin(q12)], -1)
        out = np.empty(q.shape)  # np.stack's Python overhead is felt once per loop step
        out[..., 0] = l1 * np.cos(q1) + l2 * np.cos(q12)
        out[..., 1] = l1 * np.sin(q1) + l2 * np.sin(q12)
        return out

    def _hand_velocity(self, q: torch.Tensor, qd: torch.Tensor) -> torch.Tensor:
        l1, l2 = self.arm.config.upper_arm_length, self.arm.config.forearm_length
        q1, q12 = q[..., 0], q[..., 0] + q[..., 1]
        w1, w12 = qd[..., 0], qd[..., 0] + qd[..., 1]
        return torch.stack([-l1 * torch.sin(q1) * w1 - l2 * torch.sin(q12) * w12,
                            l1 * torch.cos(q1) * w1 + l2 * torch.cos(q12) * w12], dim=-1)

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
