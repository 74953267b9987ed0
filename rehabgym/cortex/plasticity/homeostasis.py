"""Homeostatic synaptic scaling toward a target rate (Turrigiano 2008), slow: once per day."""

from __future__ import annotations

import torch


def homeostatic_scaling(
    mag: torch.Tensor, excitatory: torch.Tensor, rate: torch.Tensor, target: torch.Tensor,
    alive: torch.Tensor, strength: torch.Tensor, max_step: float, max_weight: float,
) -> torch.Tensor:
    """Scale each living neuron's excitatory inputs by (target / rate) ** strength.

    Args:
        mag: [P, N, N] recurrent magnitudes (post x pre).
        excitatory: [N] bool, the sources whose synapses are scaled.
        rate, target: [P, N] measured and target mean rates.
        strength: [P] exponent (homeostasis rate times the window gain).
    """
    ratio = (target + 1e-3) / (rate + 1e-3)
    factor = ratio.pow(strength[:, None]).clamp(1 - max_step, 1 + max_step)
    factor = torch.where(alive > 0, factor, torch.ones_like(factor))
    scale = torch.where(excitatory[None, None, :], factor[:, :, None], torch.ones_like(mag[:1]))
    return (mag * scale).clamp(0.0, max_weight)
