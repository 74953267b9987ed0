"""The cortex's engines in the closed loop: numpy on the CPU, torch on a device, and the
arm step whose backward pass multiplies by finite-difference Jacobians (pre-training's)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rehabgym.cortex.network import NumpyStep, Weights, network_step


class NumpyEngine:
    """The cortex stepped in numpy on the CPU (`NumpyStep`, which holds the input buffer)."""

    numpy = True

    def __init__(self, w: Weights, reaches: int) -> None:
        self._step = NumpyStep(w, reaches)
        self.inputs = self._step.inputs
        self._b = w.rec.shape[0] * reaches

    def step(self, dt_over_tau: float, eps_n: Any, eps_o: Any) -> np.ndarray:
        """One step; the excitations [B, 6] (a buffer the next step reuses)."""
        return self._step(dt_over_tau, eps_n, eps_o).reshape(self._b, -1)

    def rates(self, b: int) -> np.ndarray:
        return self._step.r.reshape(b, -1)


class TorchEngine:
    """The cortex stepped with torch on its weights' device (`network_step`); the inputs
    built in numpy and the excitations brought back to the CPU for the arm every step."""

    numpy = False

    def __init__(self, w: Weights, reaches: int) -> None:
        p, n, n_in = w.inp.shape
        self._w = w
        self.inputs = np.zeros((p, reaches, n_in), dtype=np.float32)
        self._x = torch.zeros(p, reaches, n, device=w.rec.device)
        self._r = torch.zeros(p, reaches, n, device=w.rec.device)

    def step(self, dt_over_tau: float, eps_n: Any, eps_o: Any) -> np.ndarray:
        inp = torch.from_numpy(self.inputs).to(self._x.device)
        self._x, self._r, u = network_step(self._x, inp, self._w, dt_over_tau, eps_n, eps_o,
                                           r=self._r)
        return u.reshape(-1, u.shape[-1]).cpu().numpy()

    def rates(self, b: int) -> torch.Tensor:
        return self._r.reshape(b, -1)


class FiniteDifferenceStep(torch.autograd.Function):
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
