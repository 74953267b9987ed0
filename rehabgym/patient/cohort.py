"""Cohorts: distributions over lesions, as a stroke unit admits them, and drawing from them.

A `CohortConfig` draws focal strokes in M1 of random size and place, with a penumbra, a little
diffuse damage and a fraction of corticospinal fibres cut; presets name the usual cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from rehabgym.config import ConfigError, NonNegative, check_fields
from rehabgym.cortex.lesion import Lesion

CohortName = Literal["mild", "moderate", "severe", "mixed", "corticospinal"]


@dataclass
class CohortConfig:
    """A distribution over lesions: focal strokes in M1 of random size and place.

    Radii are drawn uniformly; each range is (low, high). The focal centre is drawn in the
    M1 part of the sheet (x range as a fraction of M1's width, y as a fraction of the height).
    """

    focal_radius: tuple[NonNegative, NonNegative] = (0.2, 0.7)
    center_x: tuple[NonNegative, NonNegative] = (0.2, 0.8)
    center_y: tuple[NonNegative, NonNegative] = (0.25, 0.75)
    penumbra_width: tuple[NonNegative, NonNegative] = (0.1, 0.3)
    diffuse_fraction: tuple[NonNegative, NonNegative] = (0.0, 0.05)
    corticospinal_fraction: tuple[NonNegative, NonNegative] = (0.0, 0.2)

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("focal_radius", "penumbra_width", "diffuse_fraction",
                     "corticospinal_fraction", "center_x", "center_y"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ConfigError(f"{name}: need 0 <= low <= high, got ({lo}, {hi})")
        for name in ("diffuse_fraction", "corticospinal_fraction", "center_x", "center_y"):
            if getattr(self, name)[1] > 1:
                raise ConfigError(f"{name}: values must be <= 1, got {getattr(self, name)}")

    @classmethod
    def preset(cls, name: CohortName) -> CohortConfig:
        presets = {
            "mild": cls(focal_radius=(0.2, 0.35), corticospinal_fraction=(0.0, 0.05)),
            "moderate": cls(focal_radius=(0.35, 0.55), corticospinal_fraction=(0.0, 0.15)),
            "severe": cls(focal_radius=(0.55, 0.8), corticospinal_fraction=(0.2, 0.5)),
            "mixed": cls(),
            "corticospinal": cls(focal_radius=(0.0, 0.0), penumbra_width=(0.0, 0.0),
                                 corticospinal_fraction=(0.3, 0.8)),
        }
        if name not in presets:
            raise ConfigError(f"cohort: unknown preset {name!r}; allowed: {sorted(presets)}")
        return presets[name]

    def sample(self, rng: np.random.Generator, sheet_width: float = 3.0,
               sheet_height: float = 2.0, m1_fraction: float = 2.0 / 3.0) -> Lesion:
        """One lesion drawn from the cohort (reproducible for the generator's state)."""
        u = rng.uniform
        m1_w = sheet_width * m1_fraction
        return Lesion(
            focal_center=(float(u(*self.center_x) * m1_w), float(u(*self.center_y) * sheet_height)),
            focal_radius=float(u(*self.focal_radius)),
            penumbra_width=float(u(*self.penumbra_width)),
            diffuse_fraction=float(u(*self.diffuse_fraction)),
            corticospinal_fraction=float(u(*self.corticospinal_fraction)),
            seed=int(rng.integers(2**31 - 1)),
        )


def sample_cohort(cohort: CohortConfig, n: int, seed: int) -> list[Lesion]:
    """`n` lesions drawn from `cohort`, reproducibly for `seed`."""
    rng = np.random.default_rng(seed)
    return [cohort.sample(rng) for _ in range(n)]
