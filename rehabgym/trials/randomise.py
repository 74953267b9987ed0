"""Assigning screened patients to arms: stratified permuted blocks (see `Randomisation`)."""

from __future__ import annotations

import numpy as np

from rehabgym.trials.config import Randomisation


def strata_of(acute: np.ndarray, rand: Randomisation) -> np.ndarray:
    """[N] stratum of each patient's acute score: 0 below the first cut-off, and so on (all 0
    without stratification)."""
    acute = np.asarray(acute, dtype=float)
    if not rand.stratify:
        return np.zeros(len(acute), dtype=np.int64)
    return np.searchsorted(np.asarray(rand.strata), acute, side="right").astype(np.int64)


def stratum_names(rand: Randomisation) -> list[str]:
    """Readable names of the strata ("< 40", "40-70", ">= 70")."""
    cuts = list(rand.strata) if rand.stratify else []
    if not cuts:
        return ["all"]
    names = [f"< {cuts[0]:g}"]
    names += [f"{lo:g}-{hi:g}" for lo, hi in zip(cuts, cuts[1:])]
    return names + [f">= {cuts[-1]:g}"]


def randomise(strata: np.ndarray, n_arms: int, rand: Randomisation) -> np.ndarray:
    """[N] arm of each patient, in enrolment order: each stratum's patients fill its own
    sequence of permuted blocks (each arm `block_arms` times per block), drawn from a
    generator seeded by (seed, stratum), so a patient's arm depends only on the patients
    enrolled before it in its stratum."""
    strata = np.asarray(strata, dtype=np.int64)
    arms = np.empty(len(strata), dtype=np.int64)
    block = np.repeat(np.arange(n_arms), rand.block_arms)
    for s in np.unique(strata):
        members = np.flatnonzero(strata == s)
        rng = np.random.default_rng([rand.seed, int(s)])
        n_blocks = -(-len(members) // len(block))
        sequence = np.concatenate([rng.permutation(block) for _ in range(n_blocks)])
        arms[members] = sequence[:len(members)]
    return arms
