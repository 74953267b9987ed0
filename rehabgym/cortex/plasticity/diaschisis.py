"""Diaschisis: survivors that lost input to the infarct are depressed, then recover over weeks.

Neurons that survive a stroke but lost excitatory input from the dead tissue work below their
capacity in the first days (diaschisis: von Monakow 1914; Feeney & Baron 1986; Carrera &
Tononi 2014), and this depression resolves spontaneously over weeks, one of the biological
processes proposed to give proportional recovery (Zeiler & Krakauer 2013; Krakauer & Marshall
2015). It is modelled as a factor (1 - d) on each survivor's outgoing synapses, d = depth x
(fraction of its healthy excitatory input now dead), at most `cap`; d decays as exp(-day / tau).
The depression is part of the patient's deficit on day 0, and its resolution is recovery no
training can speed up. Cut fibres and dead neurons stay as they are: d multiplies magnitudes.
"""

from __future__ import annotations

import math

import torch

from rehabgym.cortex.plasticity.structural import lost_targets


def acute_depression(healthy_rec: torch.Tensor, excitatory: torch.Tensor, alive: torch.Tensor,
                     depth: float, cap: float) -> torch.Tensor:
    """[P, N] day-0 depression of each survivor: depth x lost excitatory input, at most cap.

    Args:
        healthy_rec: [N, N] post x pre magnitudes of the intact brain.
        excitatory: [N] bool; only excitatory input counts as lost drive.
        alive: [P, N] 1 for survivors.
    """
    # a neuron's lost input is its lost targets in the transposed (pre x post) wiring
    exc = healthy_rec * excitatory[None, :].to(healthy_rec.dtype)
    lost = lost_targets(exc.T, alive)
    return (depth * lost).clamp(0.0, cap) * alive


def scale_outputs(mag_rec: torch.Tensor, mag_out: torch.Tensor, factor: torch.Tensor,
                  max_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Multiply every outgoing synapse of neuron i (recurrent and corticospinal) by factor[:, i]."""
    f = factor[:, None, :]
    return (mag_rec * f).clamp(0.0, max_weight), (mag_out * f).clamp(0.0, max_weight)


def resolve(depression: torch.Tensor, tau_days: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One day of resolution: the new depression and the factor that lifts the synapses."""
    new = depression * math.exp(-1.0 / tau_days)
    return new, (1.0 - new) / (1.0 - depression)
