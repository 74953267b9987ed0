"""Tuning a heuristic therapist's parameters on training patients (`rehabgym tune`)."""

from rehabgym.tuning.run import TuneConfig, tune
from rehabgym.tuning.space import SEARCH_SPACES

__all__ = ["SEARCH_SPACES", "TuneConfig", "tune"]
