"""The cortical sheet: where neurons sit, which area and type they are, who may connect to whom.

Geometry is data (positions, areas, types, a connectivity mask), drawn once from a seed. The
sheet spans x in [0, width] (mm), y in [0, height]; the primary motor area (M1) is the caudal
part x < (1 - premotor_fraction) * width, the premotor area (PM) the rostral rest. Connection
probability falls with distance as p0 * exp(-d^2 / (2 lambda^2)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from rehabgym.config import NonNegativeInt, OpenFraction, Positive, Range, check_fields

M1, PM = 0, 1
AREA_NAMES = ("M1", "PM")


@dataclass
class SheetConfig:
    """Every default of the sheet geometry (lengths in mm)."""

    n_neurons: Annotated[int, Range(10, 4096)] = 256
    frac_excitatory: OpenFraction = 0.8
    width: Positive = 3.0
    height: Positive = 2.0
    premotor_fraction: OpenFraction = 1.0 / 3.0
    #: p0: the connection probability at distance 0
    connection_prob: Annotated[float, Range(0, 1, low_open=True)] = 0.5
    connection_length: Positive = 0.6  # lambda (mm)
    seed: NonNegativeInt = 0

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class Sheet:
    """Neurons on a 2-D sheet. Arrays are numpy, one row per neuron."""

    config: SheetConfig
    positions: np.ndarray  # [N, 2] mm
    area: np.ndarray  # [N] int: M1 or PM
    excitatory: np.ndarray  # [N] bool
    connectivity: np.ndarray  # [N, N] bool, [post, pre]; no self-connections

    @classmethod
    def generate(cls, config: SheetConfig | None = None) -> Sheet:
        cfg = config or SheetConfig()
        rng = np.random.default_rng(cfg.seed)
        n = cfg.n_neurons
        pos = rng.uniform((0.0, 0.0), (cfg.width, cfg.height), size=(n, 2))
        area = np.where(pos[:, 0] >= (1.0 - cfg.premotor_fraction) * cfg.width, PM, M1)
        excitatory = np.zeros(n, dtype=bool)
        excitatory[rng.permutation(n)[: int(round(cfg.frac_excitatory * n))]] = True
        d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
        p = cfg.connection_prob * np.exp(-d2 / (2 * cfg.connection_length**2))
        conn = rng.random((n, n)) < p
        np.fill_diagonal(conn, False)
        return cls(cfg, pos, area, excitatory, conn)

    @property
    def n(self) -> int:
        return len(self.positions)

    def distances(self) -> np.ndarray:
        """[N, N] pairwise distances (mm)."""
        return np.sqrt(((self.positions[:, None] - self.positions[None]) ** 2).sum(-1))

    def connection_probability(self) -> np.ndarray:
        """[N, N] distance-dependent connection probability (the rule the mask was drawn from)."""
        c = self.config
        return c.connection_prob * np.exp(-self.distances() ** 2 / (2 * c.connection_length**2))
