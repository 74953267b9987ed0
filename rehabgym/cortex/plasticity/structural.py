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


def lost_targets(healthy_rec: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """[P, N] fraction of each neuron's healthy outgoing recurrent weight that ended on
    neurons now dead (healthy_rec: [N, N] post x pre magnitudes of the intact brain)."""
    total = healthy_rec.sum(0).clamp(min=1e-9)
    return ((1.0 - alive) @ healthy_rec) / total[None]


def axonal_sprouting(
    mag_out: torch.Tensor, corticospinal: torch.Tensor, alive: torch.Tensor,
    lost: torch.Tensor, healthy_out: torch.Tensor, rate: torch.Tensor, bound: float,
    max_weight: float,
) -> torch.Tensor:
    """Neurons that lost their targets grow their surviving corticospinal terminals.

    A neuron whose axon lost a fraction L of its targets to the lesion has free axonal
    resources; they go to the terminals it still has (Dancause et al. 2005: premotor axons
    sprout after M1 lesions), so its output grows toward (1 + bound * L) times its healthy
    output over the fibres that survive, at a daily factor 1 + rate * L * room, room = the
    fraction of that target not reached yet. Neurons that lost nothing do not grow; cut
    fibres and dead neurons stay silent. Bigger lesions near an area, more growth there
    (Frost et al. 2003).

    Args:
        mag_out: [P, 6, N]; corticospinal: [P, 6, N] fibre mask; alive, lost: [P, N];
        healthy_out: [6, N] healthy output magnitudes; rate: [P] per day.
    """
    exists = corticospinal * alive[:, None, :]
    current = (mag_out * exists).sum(1)
    target = (1.0 + bound * lost) * (healthy_out[None] * exists).sum(1)
    room = (1.0 - current / target.clamp(min=1e-9)).clamp(min=0.0)
    grow = 1.0 + rate[:, None] * lost * room
    return (mag_out * grow[:, None, :]).clamp(0.0, max_weight)
