"""The motor-cortex network: a rate RNN on the sheet with E/I types (Dale's law) and masks.

Dynamics (Euler, dt = 10 ms, tau = 50 ms):
    x <- x + dt/tau * (-x + W r + W_in u + b) + noise,      r = relu(tanh(x)) * alive
    excitation = sigmoid(W_out r + b_out + motor noise)       (six muscles, in [0, 1])

Weights are batched over patients ([P, ...]); activity is [P, R, N] for R reaches each, so many
patients with different brains run in one batch (the healthy `Cortex` is the case P = 1).

Dale's law by parametrisation: the network stores non-negative magnitudes and the sign of every
recurrent weight is its source neuron's type, so no optimiser or plasticity rule can flip it.
Corticospinal (output) weights leave excitatory neurons only. Masks make anatomy explicit:
`connectivity` (who synapses onto whom), `alive` (dead neurons are silent and disconnected)
and `corticospinal` (which output fibres exist); areas scale the output (M1 strong, PM weak).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from rehabgym.config import ConfigError, NonNegative, Positive, check_fields
from rehabgym.cortex.sheet import M1, PM, Sheet, SheetConfig

N_OUTPUTS = 6


@dataclass
class CortexConfig:
    """Every default of the cortex network."""

    sheet: SheetConfig = field(default_factory=SheetConfig)
    tau: Positive = 0.05  # s
    dt: Positive = 0.01  # s, the arm's control period
    noise_std: NonNegative = 0.006  # private noise added to x each step
    output_noise_std: NonNegative = 0.01  # motor noise added to the muscle drive each step
    #: s: both noises are Ornstein-Uhlenbeck, correlated over this time
    noise_tau: NonNegative = 0.05
    recurrent_gain: NonNegative = 1.2  # spectral scale of the initial recurrent weights
    m1_output_gain: NonNegative = 1.0  # corticospinal strength of M1
    premotor_output_gain: NonNegative = 0.1  # PM's corticospinal projection: weak, can grow
    proprio_delay: NonNegative = 0.03  # s (joint angles and velocities)
    vision_delay: NonNegative = 0.08  # s (hand position)

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.dt <= self.tau:
            raise ConfigError(f"dt: must be in (0, tau={self.tau}], got {self.dt}")

    @property
    def proprio_delay_steps(self) -> int:
        return int(round(self.proprio_delay / self.dt))

    @property
    def vision_delay_steps(self) -> int:
        return int(round(self.vision_delay / self.dt))


class Weights(NamedTuple):
    """Effective (signed, masked) weights of P brains, computed once per batch of reaches."""

    rec: torch.Tensor  # [P, N, N] post x pre
    inp: torch.Tensor  # [P, N, n_inputs]
    bias: torch.Tensor  # [P, N]
    out: torch.Tensor  # [P, 6, N]
    out_bias: torch.Tensor  # [P, 6]
    alive: torch.Tensor  # [P, N]


def effective_weights(mag_rec, sign, connectivity, w_in, bias, mag_out, corticospinal,
                      output_gain, out_bias, alive) -> Weights:
    """Dale signs, masks and dead neurons applied to stored magnitudes (all [P, ...])."""
    a = alive
    rec = mag_rec.clamp(min=0) * sign[None, None, :] * connectivity
    rec = rec * a[:, :, None] * a[:, None, :]
    out = mag_out.clamp(min=0) * corticospinal * (output_gain[None, :] * a)[:, None, :]
    return Weights(rec, w_in * a[:, :, None], bias * a, out, out_bias, a)


def rates(x: torch.Tensor) -> torch.Tensor:
    """Firing rates relu(tanh(x)), computed as relu(2 sigmoid(2x) - 1): the same function,
    but torch's CPU sigmoid is several times faster than its tanh."""
    return torch.sigmoid(2.0 * x).mul(2.0).sub(1.0).relu()


def network_step(
    x: torch.Tensor, inputs: torch.Tensor, w: Weights, dt_over_tau: float,
    noise: torch.Tensor | None = None, out_noise: torch.Tensor | None = None,
    r: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of P brains x R reaches: x, inputs [P, R, .]; returns (x, rates, excitation).

    `noise` [P, R, N] and `out_noise` [P, R, 6] are already scaled; the caller draws them so
    that node-perturbation plasticity can correlate them with the outcome. `r` may pass the
    rates of `x` returned by the previous step, to save computing them again. Dead neurons
    have no input and their state is zeroed, so their rate is zero.
    """
    if r is None:
        r = rates(x * w.alive[:, None, :])
    drive = torch.baddbmm(w.bias[:, None, :], r, w.rec.transpose(1, 2))
    drive = torch.baddbmm(drive, inputs, w.inp.transpose(1, 2))
    x = x + dt_over_tau * (drive - x)
    if noise is not None:
        x = (x + noise) * w.alive[:, None, :]
    r = rates(x)
    z = torch.baddbmm(w.out_bias[:, None, :], r, w.out.transpose(1, 2))
    if out_noise is not None:
        z = z + out_noise
    return x, r, torch.sigmoid(z)


class NumpyStep:
    """`network_step` for simulating P brains x R reaches on the CPU without gradients.

    The same dynamics in numpy on weights packed once per batch of reaches: recurrent, input
    and bias weights form one matrix [P, N + n_in + 1, N] that multiplies one buffer holding
    the rates, the inputs and a constant 1, so a step is two matrix products and a few
    in-place operations (about 1 us each, against about 4 for a torch call on arrays this
    small). The big product runs as torch's `bmm` on the same memory: 1.6-1.8x numpy's
    `matmul` for these shapes on one thread, with the same numbers on the machines measured
    (docs/results/benchmarks.md). The caller writes the inputs into `inputs` before each
    step. Dead neurons have no input and receive no noise (the caller gates it), so they stay
    at zero.
    """

    def __init__(self, w: Weights, reaches: int) -> None:
        p, n, n_in = w.inp.shape
        self.n = n
        with torch.no_grad():
            self.w_drive = torch.cat([w.rec, w.inp, w.bias[:, :, None]], 2).transpose(1, 2) \
                .contiguous().numpy()  # [P, N + n_in + 1, N]
            self.w_out = w.out.transpose(1, 2).contiguous().numpy()  # [P, N, 6]
            self.b_out = w.out_bias[:, None, :].numpy()  # [P, 1, 6]
        self.buffer = np.zeros((p, reaches, n + n_in + 1), dtype=np.float32)
        self.buffer[..., -1] = 1.0
        self.r = self.buffer[..., :n]  # rates after the last step (a view)
        self.inputs = self.buffer[..., n:n + n_in]  # written by the caller (a view)
        self.x = np.zeros((p, reaches, n), dtype=np.float32)
        self._drive = np.empty_like(self.x)
        self._z = np.empty((p, reaches, w.out.shape[1]), dtype=np.float32)
        # torch views of the same memory, for the big product
        self._bmm = (torch.from_numpy(self.buffer), torch.from_numpy(self.w_drive),
                     torch.from_numpy(self._drive))

    def __call__(self, dt_over_tau: float, noise: np.ndarray | None = None,
                 out_noise: np.ndarray | None = None) -> np.ndarray:
        """One step; returns the excitations [P, R, 6] (a buffer reused by the next step)."""
        x, r, z = self.x, self.r, self._z
        buffer, w_drive, drive_t = self._bmm
        torch.bmm(buffer, w_drive, out=drive_t)
        drive = self._drive
        drive -= x
        drive *= dt_over_tau
        x += drive
        if noise is not None:
            x += noise
        np.tanh(x, out=r)
        np.maximum(r, 0.0, out=r)
        np.matmul(r, self.w_out, out=z)
        z += self.b_out
        if out_noise is not None:
            z += out_noise
        np.negative(z, out=z)  # sigmoid(z) = 1 / (1 + exp(-z))
        np.exp(z, out=z)
        z += 1.0
        return np.reciprocal(z, out=z)


class Cortex(nn.Module):
    """Rate RNN on a cortical sheet. Tensors are batch-first; the batch is chosen per call.

    Args:
        config: `CortexConfig` (the sheet is generated from `config.sheet`, seeded).
        n_inputs: size of the input vector (target, proprioception, vision), built by the loop.
    """

    def __init__(self, config: CortexConfig | None = None, n_inputs: int = 8) -> None:
        super().__init__()
        self.config = config or CortexConfig()
        self.sheet = Sheet.generate(self.config.sheet)
        self.n_inputs = n_inputs
        sh = self.sheet
        n = sh.n
        g = torch.Generator().manual_seed(self.config.sheet.seed + 1)
        exc = torch.as_tensor(sh.excitatory)
        conn = torch.as_tensor(sh.connectivity, dtype=torch.float32)
        sign = torch.where(exc, 1.0, -1.0)
        self.register_buffer("positions", torch.as_tensor(sh.positions, dtype=torch.float32))
        self.register_buffer("area", torch.as_tensor(sh.area, dtype=torch.long))
        self.register_buffer("excitatory", exc)
        self.register_buffer("sign", sign)
        self.register_buffer("connectivity", conn)
        self.register_buffer("alive", torch.ones(n))
        cs = exc.float()[None, :].repeat(N_OUTPUTS, 1)
        self.register_buffer("corticospinal", cs)
        area_gain = torch.where(self.area == PM, self.config.premotor_output_gain,
                                self.config.m1_output_gain)
        self.register_buffer("output_gain", area_gain)

        # Balanced initial magnitudes: inhibitory synapses scaled so E and I input match.
        k = conn.sum(1).clamp(min=1.0)[:, None]
        n_e, n_i = exc.sum(), (~exc).sum()
        scale = torch.where(exc, 1.0, float(n_e) / float(n_i))[None, :]
        mag = torch.rand(n, n, generator=g) * 2 * self.config.recurrent_gain / k.sqrt() * scale
        self.w_rec = nn.Parameter(mag * conn / scale.sqrt())
        self.w_in = nn.Parameter(torch.randn(n, n_inputs, generator=g) / np.sqrt(n_inputs))
        self.b = nn.Parameter(torch.zeros(n))
        self.w_out = nn.Parameter(torch.rand(N_OUTPUTS, n, generator=g) * 0.1 / n_e.float().sqrt())
        self.b_out = nn.Parameter(torch.full((N_OUTPUTS,), -3.0))

    # ------------------------------------------------------------------ dynamics
    @property
    def n(self) -> int:
        return self.sheet.n

    def weights(self) -> Weights:
        """The effective weights (P = 1): Dale signs, masks and dead neurons applied."""
        return effective_weights(
            self.w_rec[None], self.sign, self.connectivity[None], self.w_in[None], self.b[None],
            self.w_out[None], self.corticospinal[None], self.output_gain, self.b_out[None],
            self.alive[None],
        )

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """[1, B, N] resting activation."""
        return torch.zeros(1, batch_size, self.n, device=self.alive.device)

    # ------------------------------------------------------------------ read-outs
    def alive_fraction(self, area: int | None = None) -> float:
        sel = torch.ones_like(self.alive, dtype=torch.bool) if area is None else self.area == area
        return float(self.alive[sel].mean())

    def output_strength(self, area: int) -> float:
        """Total corticospinal weight leaving `area` (M1 or PM)."""
        with torch.no_grad():
            return float(self.weights().out[0][:, self.area == area].sum())

    def synapse_count(self) -> int:
        """Existing synapses between living neurons."""
        a = self.alive
        return int((self.connectivity * a[:, None] * a[None, :]).sum())

    def dale_ok(self) -> bool:
        """True when every effective weight has its source's sign (or is zero)."""
        with torch.no_grad():
            w = self.weights()
        signed = w.rec * self.sign
        return bool((signed >= 0).all() and (w.out >= 0).all()
                    and (w.out[..., ~self.excitatory] == 0).all())

    def describe(self) -> dict:
        """Plain-data summary (for logs and saving)."""
        return {
            "n_neurons": self.n,
            "n_excitatory": int(self.excitatory.sum()),
            "n_m1": int((self.area == M1).sum()),
            "n_pm": int((self.area == PM).sum()),
            "synapses": self.synapse_count(),
            "alive_fraction": self.alive_fraction(),
            "output_m1": self.output_strength(M1),
            "output_pm": self.output_strength(PM),
        }
