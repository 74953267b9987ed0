"""What one session practises: a `SessionPlan`, checked before anything runs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rehabgym.config import Range

N_DIRECTIONS = 8
#: reach distances (m) a session may practise and the battery may assess: the arm reaches them
#: from its start posture in every direction
DISTANCES = Range(0.02, 0.2)


def unit_vectors(n: int) -> np.ndarray:
    """[n, 2] unit vectors of the center-out directions (direction k at angle 2πk/n)."""
    ang = 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(ang), np.sin(ang)], axis=1)


@dataclass(frozen=True)
class SessionPlan:
    """What one session practises. `directions` are indices of the center-out directions.

    `precision` is the reach score a success needs in this session (None: the patient's
    `plasticity.success_threshold`, 0.7): a reach scoring s kept the hand (1 − s) × distance
    from the target on average, so a higher precision is a smaller target (Fitts 1954), a
    level that can be too hard for a patient who succeeds at the default one.
    """

    directions: tuple[int, ...] = ()
    repetitions: int = 0
    distance: float = 0.10  # m
    assistance: float = 0.0  # 0 (none) .. 1 (the strongest assistive spring)
    precision: float | None = None  # success threshold on the reach score, in (0, 1)

    def check(self, n_directions: int = N_DIRECTIONS, max_repetitions: int = 1000) -> None:
        """Raise a ValueError naming the bad field and what is allowed."""
        reps = self.repetitions
        if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)):
            raise ValueError(f"repetitions: expected an integer, got {self.repetitions!r}")
        if not 0 <= self.repetitions <= max_repetitions:
            raise ValueError(f"repetitions: allowed 0..{max_repetitions}, got {self.repetitions}")
        for d in self.directions:
            if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not (
                0 <= d < n_directions
            ):
                raise ValueError(
                    f"directions: {d!r} is not a direction; allowed integers 0..{n_directions - 1}"
                )
        if self.repetitions > 0 and not self.directions:
            raise ValueError("directions: repetitions > 0 need at least one direction")
        if not (math.isfinite(self.distance) and self.distance in DISTANCES):
            raise ValueError(f"distance: must be {DISTANCES} m, got {self.distance}")
        if not (math.isfinite(self.assistance) and 0.0 <= self.assistance <= 1.0):
            raise ValueError(f"assistance: allowed 0..1, got {self.assistance}")
        if self.precision is not None and not (
                isinstance(self.precision, (int, float, np.floating))
                and not isinstance(self.precision, bool)
                and math.isfinite(self.precision) and 0.0 < self.precision < 1.0):
            raise ValueError(f"precision: allowed None or a number in (0, 1), got "
                             f"{self.precision!r}")
