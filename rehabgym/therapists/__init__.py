"""Therapists: the heuristics, a trained SB3 model, and one registry with one spec parser."""

from rehabgym.therapists.base import Therapist, profile_of
from rehabgym.therapists.registry import (
    BASELINES,
    HEURISTICS,
    TherapistFactory,
    check_spec,
    heuristic_factory,
    make_therapist,
    parse_spec,
    therapist_factory,
)
from rehabgym.therapists.sb3 import SB3Therapist, load_sb3_model, sb3_factory

__all__ = ["BASELINES", "HEURISTICS", "SB3Therapist", "Therapist", "TherapistFactory",
           "check_spec", "heuristic_factory", "load_sb3_model", "make_therapist", "parse_spec",
           "profile_of", "sb3_factory", "therapist_factory"]
