"""Typed records of what a patient's day yields: a session's outcome and the biomarkers.

Plain frozen dataclasses instead of string-keyed dicts, so a misspelt field is an error where
it is written, not a KeyError wherever it is read; `asdict` (dataclasses) gives the dict a log
or an `info` wants.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np


@dataclass(frozen=True)
class SessionOutcome:
    """One patient's practice session: repetitions done, mean reach score (0-1), success rate
    (the fraction of reaches scoring at least the session's precision) and the fatigue after
    it; the score and success are NaN for a session without reaches."""

    repetitions: int
    mean_reach_score: float
    success_rate: float
    fatigue: float


@dataclass(frozen=True)
class Biomarkers:
    """What a lab could measure of one brain: mean firing rate and living fraction per area
    (M1, premotor), living recurrent synapses, corticospinal output strength per area and the
    day's use of the arm in daily life (0-1)."""

    rate_m1: float
    rate_pm: float
    alive_m1: float
    alive_pm: float
    synapses: float
    output_m1: float
    output_pm: float
    daily_use: float

    def as_array(self) -> np.ndarray:
        """The values in `BIOMARKER_NAMES`' order."""
        return np.array(astuple(self), dtype=float)


#: the biomarkers' names, in the order of `Biomarkers.as_array` and of the observation
BIOMARKER_NAMES = tuple(f.name for f in fields(Biomarkers))

__all__ = ["BIOMARKER_NAMES", "Biomarkers", "SessionOutcome"]
