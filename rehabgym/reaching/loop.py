"""The closed loop: one cortex batch drives one arm batch through a batch of reaches.

This is the only place where torch (the cortex) meets MuJoCo (the arm). Each 10 ms step the
cortex sees the target, delayed proprioception (joint angles and velocities) and delayed vision
of the hand, and sends six muscle excitations to the arms. For pre-training, the arm step can
be made differentiable: the forward pass is real MuJoCo physics and the backward pass uses
finite-difference Jacobians of the control period, computed by stepping perturbed copies of
the arms in the same batched call (no gradients through a re-implementation of the physics).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rehabgym.arm import Arm, ArmConfig
from rehabgym.arm.arm import N_STATE
from rehabgym.cortex.network import Cortex, Weights, network_step

N_INPUTS = 8  # target (2), joint angles (2), joint velocities (2), seen hand position (2)
POSITION_SCALE = 0.1  # m: positions enter the cortex in units of 10 cm
VELOCITY_SCALE = 0.2  # joint velocities enter in units of 5 rad/s
_NX = N_STATE - 1  # state the loop tracks per arm: qpos (2), qvel (2), act (6)


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

    def metrics(self, config=None):
        """Reach metrics (`rehabgym.reaching.metrics.ReachMetrics`) of this batch."""
        from rehabgym.reaching.metrics import reach_metrics
        from rehabgym.reaching.targets import ReachConfig

        return reach_metrics(self.hand_position, self.hand_velocity, self.start, self.target,
                             self.dt, config or ReachConfig())


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


class ClosedLoop:
    """Runs batches of reaches of a cortex driving a batch of arms.

    Args:
        cortex: the network whose configuration (dynamics, delays, noise) the loop uses; its
            own weights drive the arms unless `run` is given the weights of a patient batch.
        arm_config: the arm's parameters.
        nthread: threads of the batched arm.
        torch_threads: torch's intra-op threads to set (None leaves torch's setting alone).
    """

    def __init__(self, cortex: Cortex, arm_config: ArmConfig | None = None,
                 nthread: int | None = None, torch_threads: int | None = 1) -> None:
        if torch_threads is not None:
            # The cortex's matrices are small: one thread beats several (and never oversubscribes
            # the cores the arm's stepping threads use).
            torch.set_num_threads(torch_threads)
        self.cortex = cortex
        self.arm = Arm(arm_config, batch_size=1, nthread=nthread)
        self._fd_arm: Arm | None = None
        self._nthread = nthread
        self.start = self.arm.start_hand_position()
        self.start_q = np.radians(np.asarray(self.arm.config.start_posture, dtype=float))
        self.fd_eps = 1e-6

    @property
    def dt(self) -> float:
        return self.arm.dt

    # ------------------------------------------------------------------ public
    def run(
        self,
        targets: np.ndarray,
        duration: float = 1.0,
        seed: int | torch.Generator = 0,
        assist_gain: np.ndarray | float | None = None,
        record_rates: bool = False,
        noise: bool = True,
        weights: Weights | None = None,
    ) -> ReachResult:
        """Reaches from the start posture to `targets` (m), with no plasticity.

        `targets` is [B, 2] for the loop's own cortex, or [P, R, 2] with `weights` of P brains
        (R reaches each; results are then flattened to B = P * R, patient-major).
        `assist_gain` (N/m, scalar or per reach) pulls the hand toward its target.
        """
        with torch.no_grad():
            return self._simulate(targets, duration, seed, assist_gain, record_rates, noise,
                                  weights, differentiable=False)[0]

    def run_differentiable(
        self, targets: np.ndarray, duration: float = 1.0, seed: int | torch.Generator = 0
    ) -> tuple[ReachResult, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reaches whose hand path is differentiable w.r.t. the cortex parameters.

        Returns (result, hand position [B, T+1, 2], hand velocity [B, T+1, 2],
        excitations [B, T, 6]) where the tensors carry gradients.
        """
        return self._simulate(targets, duration, seed, None, False, True, None,
                              differentiable=True)

    # ------------------------------------------------------------------ internals
    def _simulate(self, targets, duration, seed, assist_gain, record_rates, noise, weights,
                  differentiable):
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
        gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
        cfg = self.cortex.config
        dev = w.rec.device
        n = w.rec.shape[1]
        dp, dv = cfg.proprio_delay_steps, cfg.vision_delay_steps
        dt_over_tau = cfg.dt / cfg.tau

        start_t = torch.as_tensor(self.start, dtype=torch.float64)
        q0 = torch.as_tensor(self.start_q, dtype=torch.float64)
        target_in = torch.as_tensor((flat_targets - self.start) / POSITION_SCALE,
                                    dtype=torch.float32)
        self.arm.reset(batch_size=b)
        arm_x = torch.as_tensor(self.arm.get_physics_state()[:, 1:])  # [B, 10] float64
        assist = (None, None)
        if assist_gain is not None:
            assist = (flat_targets, np.broadcast_to(np.asarray(assist_gain, float), (b,)))

        x = torch.zeros(p, r_per, n, device=dev)
        # Ornstein-Uhlenbeck noise, unit variance, correlated over cfg.noise_tau.
        decay = float(np.exp(-self.dt / cfg.noise_tau)) if cfg.noise_tau > 0 else 0.0
        kick = float(np.sqrt(1.0 - decay**2))
        eps = torch.randn(p, r_per, n, generator=gen).to(dev) if noise else None
        eps_out = torch.randn(p, r_per, w.out.shape[1], generator=gen).to(dev) if noise else None
        hist_x = [arm_x]
        exc, rates_rec, noise_rec = [], [], []
        for t in range(steps):
            xp, xv = hist_x[max(0, t - dp)], hist_x[max(0, t - dv)]
            hand_seen = self._hand(xv[:, :2])
            inp = torch.cat([
                target_in,
                (xp[:, :2] - q0).float(),
                (xp[:, 2:4] * VELOCITY_SCALE).float(),
                ((hand_seen - start_t) / POSITION_SCALE).float(),
            ], dim=1).reshape(p, r_per, N_INPUTS).to(dev)
            if noise:
                eps = decay * eps + kick * torch.randn(p, r_per, n, generator=gen).to(dev)
                eps_out = decay * eps_out + kick * torch.randn(
                    p, r_per, w.out.shape[1], generator=gen).to(dev)
            x, r, u = network_step(
                x, inp, w, dt_over_tau,
                None if eps is None else cfg.noise_std * eps,
                None if eps_out is None else cfg.output_noise_std * eps_out,
            )
            u = u.reshape(b, -1)
            if differentiable:
                arm_x = _FiniteDifferenceStep.apply(arm_x, u.double().cpu(), self)
            else:
                self.arm.step(u.double().cpu().numpy(), *assist, observe=False)
                arm_x = torch.from_numpy(self.arm.get_physics_state()[:, 1:])
            hist_x.append(arm_x)
            exc.append(u)
            if record_rates:
                rates_rec.append(r.reshape(b, n))
                zero = torch.zeros(b, n + w.out.shape[1], device=dev)
                noise_rec.append(zero if eps is None else
                                 torch.cat([eps, eps_out], dim=2).reshape(b, -1))
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
            rates=torch.stack(rates_rec, 1).cpu().numpy() if record_rates else None,
            noise=torch.stack(noise_rec, 1).cpu().numpy() if record_rates else None,
        )
        return result, hand, vel, u_all

    def _hand(self, q: torch.Tensor) -> torch.Tensor:
        l1, l2 = self.arm.config.upper_arm_length, self.arm.config.forearm_length
        q1, q12 = q[..., 0], q[..., 0] + q[..., 1]
        return torch.stack([l1 * torch.cos(q1) + l2 * torch.cos(q12),
                            l1 * torch.sin(q1) + l2 * torch.sin(q12)], dim=-1)

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
            self._fd_arm = Arm(self.arm.config, batch_size=b * k, nthread=self._nthread)
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
