"""Lesions as data, and cohorts as distributions over them.

A `Lesion` says what dies: a focal disk on the sheet (with an optional penumbra of weakened
neurons around it), a random diffuse fraction of the survivors, and a fraction of the
corticospinal output fibres. `lesion_masks` turns it into masks for one sheet; the patient
applies them once, at the stroke, and no rule ever revives what they kill.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from rehabgym.cortex.sheet import M1, Sheet


@dataclass(frozen=True)
class Lesion:
    """One stroke. Lengths in mm on the sheet; fractions in [0, 1]."""

    focal_center: tuple[float, float] | None = None
    focal_radius: float = 0.0
    penumbra_width: float = 0.0
    penumbra_strength: float = 0.5  # fraction of outgoing weight a penumbra neuron keeps
    diffuse_fraction: float = 0.0
    corticospinal_fraction: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.focal_radius < 0:
            raise ValueError(f"focal_radius: must be >= 0 mm, got {self.focal_radius}")
        if self.penumbra_width < 0:
            raise ValueError(f"penumbra_width: must be >= 0 mm, got {self.penumbra_width}")
        for name in ("penumbra_strength", "diffuse_fraction", "corticospinal_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name}: must be in [0, 1], got {v}")
        if self.focal_center is not None:
            c = tuple(float(v) for v in self.focal_center)
            if len(c) != 2 or not np.all(np.isfinite(c)):
                raise ValueError(f"focal_center: expected (x, y) in mm, got {self.focal_center}")
            object.__setattr__(self, "focal_center", c)

    def check_on(self, sheet: Sheet) -> None:
        """Raise if the lesion does not fit `sheet` (a focal centre off the sheet)."""
        if self.focal_center is not None:
            x, y = self.focal_center
            w, h = sheet.config.width, sheet.config.height
            if not (0 <= x <= w and 0 <= y <= h):
                raise ValueError(
                    f"focal_center: {self.focal_center} is off the sheet "
                    f"(x in [0, {w}], y in [0, {h}] mm)"
                )

    def summary(self) -> dict[str, float]:
        """Plain numbers (for `info`, logs and tables)."""
        d = asdict(self)
        cx, cy = d.pop("focal_center") or (float("nan"), float("nan"))
        return {"focal_x": cx, "focal_y": cy, **{k: float(v) for k, v in d.items()}}


@dataclass
class LesionMasks:
    """What a lesion does to one sheet (numpy)."""

    alive: np.ndarray  # [N] bool
    weakening: np.ndarray  # [N] factor on outgoing weights (1 = untouched)
    corticospinal_cut: np.ndarray  # [N] bool: output fibre cut
    distance_to_core: np.ndarray  # [N] mm from the focal border (inf without a focal core)


def lesion_masks(lesion: Lesion, sheet: Sheet) -> LesionMasks:
    """Masks of `lesion` on `sheet` (deterministic for `lesion.seed`)."""
    lesion.check_on(sheet)
    rng = np.random.default_rng(lesion.seed)
    n = sheet.n
    alive = np.ones(n, dtype=bool)
    weakening = np.ones(n)
    dist = np.full(n, np.inf)
    if lesion.focal_center is not None and lesion.focal_radius > 0:
        d = np.linalg.norm(sheet.positions - np.asarray(lesion.focal_center), axis=1)
        alive &= d > lesion.focal_radius
        dist = np.maximum(d - lesion.focal_radius, 0.0)
        if lesion.penumbra_width > 0:
            pen = alive & (dist <= lesion.penumbra_width)
            # Weakening grows toward the core, down to penumbra_strength at the border.
            frac = dist[pen] / lesion.penumbra_width
            weakening[pen] = lesion.penumbra_strength + (1 - lesion.penumbra_strength) * frac
    if lesion.diffuse_fraction > 0:
        alive &= rng.random(n) >= lesion.diffuse_fraction
    cut = np.zeros(n, dtype=bool)
    if lesion.corticospinal_fraction > 0:
        cut = sheet.excitatory & (rng.random(n) < lesion.corticospinal_fraction)
    return LesionMasks(alive, weakening, cut, dist)


CohortName = Literal["mild", "moderate", "severe", "mixed", "corticospinal"]


@dataclass
class CohortConfig:
    """A distribution over lesions: focal strokes in M1 of random size and place.

    Radii are drawn uniformly; each range is (low, high). The focal centre is drawn in the
    M1 part of the sheet (x range as a fraction of M1's width, y as a fraction of the height).
    """

    focal_radius: tuple[float, float] = (0.2, 0.7)
    center_x: tuple[float, float] = (0.2, 0.8)
    center_y: tuple[float, float] = (0.25, 0.75)
    penumbra_width: tuple[float, float] = (0.1, 0.3)
    diffuse_fraction: tuple[float, float] = (0.0, 0.05)
    corticospinal_fraction: tuple[float, float] = (0.0, 0.2)

    def __post_init__(self) -> None:
        for name in ("focal_radius", "penumbra_width", "diffuse_fraction",
                     "corticospinal_fraction", "center_x", "center_y"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name}: need 0 <= low <= high, got ({lo}, {hi})")
        for name in ("diffuse_fraction", "corticospinal_fraction", "center_x", "center_y"):
            if getattr(self, name)[1] > 1:
                raise ValueError(f"{name}: values must be <= 1, got {getattr(self, name)}")

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
            raise ValueError(f"cohort: unknown preset {name!r}; allowed: {sorted(presets)}")
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


__all__ = ["CohortConfig", "Lesion", "LesionMasks", "M1", "lesion_masks"]
