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


def spinal_scaling(
    mag_out: torch.Tensor, corticospinal: torch.Tensor, alive: torch.Tensor,
    reference: torch.Tensor, strength: float, max_step: float, max_weight: float,
    scaled: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scale each muscle's living corticospinal inputs by (healthy / present total) ** strength.

    Synaptic scaling at the spinal level (spinal neurons scale their inputs toward a set point:
    O'Brien et al. 1998; Turrigiano 2008), both ways: a motoneuron pool whose cortical drive
    practice raised loses some of it again, one that lost drive regains it, while the
    pattern of its inputs (what practice taught) is kept.

    Args:
        mag_out: [P, 6, N] output magnitudes; corticospinal: [P, 6, N] fibre mask;
        alive: [P, N]; reference: [6] healthy total drive per muscle; strength: exponent;
        max_step: at most this fraction up or down a day; scaled: [N] bool, the neurons whose
            fibres are scaled (default all; the total compared counts every fibre).
    """
    exists = corticospinal * alive[:, None, :]
    drive = (mag_out * exists).sum(-1)  # [P, 6]
    ratio = reference.clamp(min=1e-9)[None] / drive.clamp(min=1e-9)
    factor = ratio.pow(strength).clamp(1 - max_step, 1 + max_step)
    target = exists > 0 if scaled is None else (exists > 0) & scaled[None, None, :]
    scale = torch.where(target, factor[:, :, None], torch.ones_like(mag_out))
    return (mag_out * scale).clamp(0.0, max_weight)
