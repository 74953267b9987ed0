"""Lesions as data, and the masks they make on a sheet.

A `Lesion` says what dies: a focal disk on the sheet (with an optional penumbra of weakened
neurons around it), a random diffuse fraction of the survivors, and a fraction of the
corticospinal output fibres. `lesion_masks` turns it into masks for one sheet; the patient
applies them once, at the stroke, and no rule ever revives what they kill.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rehabgym.config import Fraction, NonNegative, NonNegativeInt, check_fields
from rehabgym.cortex.sheet import Sheet


@dataclass(frozen=True)
class Lesion:
    """One stroke. Lengths in mm on the sheet; fractions in [0, 1]."""

    focal_center: tuple[float, float] | None = None
    focal_radius: NonNegative = 0.0
    penumbra_width: NonNegative = 0.0
    penumbra_strength: Fraction = 0.5  # fraction of outgoing weight a penumbra neuron keeps
    diffuse_fraction: Fraction = 0.0
    corticospinal_fraction: Fraction = 0.0
    seed: NonNegativeInt = 0

    def __post_init__(self) -> None:
        check_fields(self)  # focal_center: two finite numbers (mm), checked on a sheet later

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


__all__ = ["Lesion", "LesionMasks", "lesion_masks"]
