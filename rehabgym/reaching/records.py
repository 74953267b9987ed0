"""The records a batch of reaches travels in: `ReachBatch` (what to simulate, checked once),
`ReachResult` (the trajectories) and `ArmTrace` (what the arms were given, for benchmarks),
and the noise generators each brain draws from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch

from rehabgym.reaching.metrics import ReachMetrics, reach_metrics
from rehabgym.reaching.targets import ReachConfig


def _generators(seed: int | torch.Generator | Sequence[torch.Generator],
                p: int) -> list[torch.Generator]:
    """One noise generator per brain (see `ClosedLoop.run`)."""
    if isinstance(seed, torch.Generator):
        return [seed] * p
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [torch.Generator().manual_seed(int(seed)) for _ in range(p)]
    gens = list(seed)
    if len(gens) != p or not all(isinstance(g, torch.Generator) for g in gens):
        raise ValueError(f"seed: expected an int, a torch.Generator or {p} generators (one "
                         f"per brain), got {seed!r}")
    return gens


def draw_noise(gens: list[torch.Generator], counts: list[int], shape: tuple[int, ...],
          axis: int = 0) -> torch.Tensor:
    """Standard normal numbers of `shape` whose dimension `axis` is the brain and the next
    one its reaches: brain i's first counts[i] reaches come from gens[i], the rest are zero."""
    lead, r, tail = shape[:axis], shape[axis + 1], shape[axis + 2:]
    if len(gens) == 1 and counts[0] == r:
        return torch.randn(shape, generator=gens[0])
    out = torch.empty(shape)
    for i, (gen, c) in enumerate(zip(gens, counts)):
        rows = out.select(axis, i)
        rows[(slice(None),) * axis + (slice(0, c),)] = torch.randn(*lead, c, *tail,
                                                                    generator=gen)
        rows[(slice(None),) * axis + (slice(c, r),)] = 0.0
    return out


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

    @classmethod
    def concatenate(cls, parts: Sequence[ReachResult], **given: np.ndarray) -> ReachResult:
        """The reaches of `parts` (same `dt` and length) as one batch, in order; fields in
        `given` are taken as they are (already the whole batch's)."""
        def cat(name):
            arrays = [getattr(r, name) for r in parts]
            return None if arrays[0] is None else np.concatenate(arrays)

        return cls(parts[0].dt, **{f.name: given[f.name] if f.name in given else cat(f.name)
                                   for f in fields(cls)[1:]})

    def metrics(self, config: ReachConfig | None = None) -> ReachMetrics:
        """Reach metrics of this batch."""
        return reach_metrics(self.hand_position, self.hand_velocity, self.start, self.target,
                             self.dt, config or ReachConfig())


@dataclass(frozen=True)
class ArmTrace:
    """What the arms of one `ClosedLoop.run` were given: enough to step the same arms through
    the same reaches without the cortex (`rehabgym bench floor` times that replay)."""

    excitation: np.ndarray  # [B, T, 6]
    target: np.ndarray  # [B, 2]
    assist_gain: np.ndarray | None  # [B] N/m, or None without assistance


RECORDERS: list[list[ArmTrace]] = []


@contextmanager
def recording_arms() -> Iterator[list[ArmTrace]]:
    """A list that every `ClosedLoop.run` of this process appends its `ArmTrace` to while the
    block runs (for benchmarks: nothing is recorded outside such a block)."""
    traces: list[ArmTrace] = []
    RECORDERS.append(traces)
    try:
        yield traces
    finally:
        RECORDERS.remove(traces)


@dataclass
class ReachBatch:
    """One batch of reaches, checked once: what the engines, the noise and a split need."""

    targets: np.ndarray  # [P, R, 2] m
    steps: int  # control periods of each reach
    gens: list[torch.Generator]  # each brain's noise generator
    counts: list[int]  # each brain's real reaches, the first of its row (the rest: padding)
    assist_gain: np.ndarray | None = None  # [P * R] N/m
    noise: bool = True
    record_rates: bool = False
    record_noise: bool = True  # with record_rates: keep the noise too

    @classmethod
    def make(cls, targets: Any, duration: float, dt: float, seed: Any, n_brains: int,
             assist_gain: Any = None, reaches: Sequence[int] | None = None,
             noise: bool = True, record_rates: bool = False, record_noise: bool = True
             ) -> ReachBatch:
        """`ClosedLoop.run`'s arguments as a batch; a bad one is a `ValueError` naming it."""
        targets = np.asarray(targets, dtype=float)
        if targets.ndim == 2 and n_brains == 1:
            targets = targets[None]
        if (targets.ndim != 3 or targets.shape[0] != n_brains or targets.shape[2] != 2
                or not np.all(np.isfinite(targets))):
            raise ValueError(f"targets: expected finite array of shape ({n_brains}, R, 2) or "
                             f"(B, 2) for one brain, got {targets.shape}")
        p, r = targets.shape[:2]
        steps = int(round(duration / dt))
        if steps < 1:
            raise ValueError(f"duration: must be at least one step ({dt} s), got {duration}")
        counts = [r] * p if reaches is None else [int(c) for c in reaches]
        if len(counts) != p or not all(0 <= c <= r for c in counts):
            raise ValueError(f"reaches: expected {p} counts in 0..{r}, got {reaches!r}")
        gain = None if assist_gain is None else np.broadcast_to(
            np.asarray(assist_gain, float), (p * r,)).copy()
        return cls(targets, steps, _generators(seed, p), counts, gain, noise, record_rates,
                   record_noise and record_rates)

    @property
    def p(self) -> int:
        return self.targets.shape[0]

    @property
    def r(self) -> int:
        return self.targets.shape[1]

    @property
    def b(self) -> int:
        return self.p * self.r

    @property
    def flat_targets(self) -> np.ndarray:
        return self.targets.reshape(self.b, 2)

    def brains(self, lo: int, hi: int) -> ReachBatch:
        """The same batch for brains lo:hi only (a thread's part of a split batch)."""
        rows = slice(lo * self.r, hi * self.r)
        return replace(self, targets=self.targets[lo:hi], gens=self.gens[lo:hi],
                       counts=self.counts[lo:hi],
                       assist_gain=None if self.assist_gain is None else self.assist_gain[rows])
