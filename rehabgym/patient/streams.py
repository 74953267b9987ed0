"""Each patient's own random streams, so a patient's future does not depend on its batch.

Patient i has a numpy generator (daily-life directions) and a torch generator (practice noise,
structural plasticity), both seeded with its own seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


class RandomStreams:
    """One numpy and one torch generator per patient, seeded `seeds[i]`."""

    def __init__(self, seeds: Sequence[int]) -> None:
        self.seeds = [int(x) for x in seeds]
        self.rngs = [np.random.default_rng(x) for x in self.seeds]
        self.gens = [torch.Generator().manual_seed(x) for x in self.seeds]

    @classmethod
    def for_batch(cls, seed: int | Sequence[int], n: int) -> RandomStreams:
        """`seed + i` for patient i of `n`, or one seed each from a sequence of `n`."""
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return cls([int(seed) + i for i in range(n)])
        seeds = [int(x) for x in seed]
        if len(seeds) != n:
            raise ValueError(f"seed: expected an int or {n} seeds (one per patient), "
                             f"got {len(seeds)}")
        return cls(seeds)

    def reseed(self, index: int, seed: int) -> None:
        """Restart patient `index`'s streams from `seed`."""
        self.seeds[index] = int(seed)
        self.rngs[index] = np.random.default_rng(int(seed))
        self.gens[index] = torch.Generator().manual_seed(int(seed))

    def get_state(self) -> dict[str, Any]:
        return {"seeds": list(self.seeds), "rngs": [r.bit_generator.state for r in self.rngs],
                "gens": [g.get_state() for g in self.gens]}

    def set_state(self, state: dict[str, Any]) -> None:
        self.seeds = list(state["seeds"])
        for rng, st in zip(self.rngs, state["rngs"]):
            rng.bit_generator.state = st
        for gen, st in zip(self.gens, state["gens"]):
            gen.set_state(st)
