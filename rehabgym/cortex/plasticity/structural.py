"""Structural plasticity: sprouting among survivors and pruning (Butz & van Ooyen 2013), and
corticospinal sprouting onto denervated muscles (Carmichael 2006; Starkey et al. 2012)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _uniform(generators: Sequence[torch.Generator], shape: tuple[int, ...]) -> torch.Tensor:
    """[P, *shape] uniform numbers, patient i's from generators[i] (its own random stream)."""
    return torch.stack([torch.rand(shape, generator=g) for g in generators])


def sprout(
    connectivity: torch.Tensor, mag: torch.Tensor, alive: torch.Tensor,
    probability: torch.Tensor, distance_to_core: torch.Tensor, rate: torch.Tensor,
    boost: float, boost_length: float, weight: float, generators: Sequence[torch.Generator],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grow new synapses between living, unconnected neurons; returns (connectivity, mag).

    The chance of a new synapse onto neuron i from j is rate * p(d_ij) * (1 + boost *
    exp(-dist_i / boost_length)): distance-dependent like the original wiring, and strongest
    in the peri-infarct zone. Never onto or from a dead neuron, never a self-connection.
    Patient i's draws come from generators[i].
    """
    p, n, _ = connectivity.shape
    near = 1.0 + boost * torch.exp(-distance_to_core / boost_length)  # [P, N] (inf -> 1)
    chance = rate[:, None, None] * probability[None] * near[:, :, None]
    eligible = (connectivity == 0) & (alive[:, :, None] > 0) & (alive[:, None, :] > 0)
    eligible &= ~torch.eye(n, dtype=torch.bool)[None]
    new = eligible & (_uniform(generators, (n, n)) < chance)
    return connectivity + new.float(), torch.where(new, torch.full_like(mag, weight), mag)


def prune(
    connectivity: torch.Tensor, mag: torch.Tensor, threshold: float, probability: float,
    generators: Sequence[torch.Generator],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Remove weak synapses (magnitude below threshold) with a daily probability (patient
    i's draws from generators[i])."""
    weak = (connectivity > 0) & (mag < threshold)
    gone = weak & (_uniform(generators, mag.shape[1:]) < probability)
    return connectivity * (~gone).float(), torch.where(gone, torch.zeros_like(mag), mag)


def corticospinal_sprouting(
    mag_out: torch.Tensor, corticospinal: torch.Tensor, alive: torch.Tensor,
    reference: torch.Tensor, rate: torch.Tensor, max_weight: float,
) -> torch.Tensor:
    """Surviving corticospinal terminals onto a muscle that lost its cortical drive grow.

    A muscle's loss is 1 - (its total cortical drive) / (its healthy drive), clipped at 0.
    Each existing fibre onto it, from M1 or PM alike, grows by the factor 1 + rate * loss a
    day: bigger lesions, more growth, until the drive is back (a homeostatic target at the
    spinal level). No new fibres, none from dead neurons.

    Args:
        mag_out: [P, 6, N] output magnitudes; corticospinal: [P, 6, N] fibre mask;
        alive: [P, N]; reference: [6] healthy total drive per muscle; rate: [P] per day.
    """
    exists = corticospinal * alive[:, None, :]
    drive = (mag_out * exists).sum(-1)  # [P, 6]
    loss = (1.0 - drive / reference.clamp(min=1e-9)[None]).clamp(min=0.0)
    grow = 1.0 + rate[:, None, None] * loss[:, :, None] * exists
    return (mag_out * grow).clamp(0.0, max_weight)
