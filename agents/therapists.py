"""Heuristic therapists and the SB3 therapist (the implementation is `rehabgym.therapists`,
so that `rehabgym evaluate` works from an installed package).

    python agents/therapists.py      # lists the registered therapists
"""

from rehabgym.therapists import (
    HEURISTICS,
    ChallengePoint,
    LearningProgress,
    NoTherapy,
    RandomTherapist,
    SB3Therapist,
    Therapist,
    UniformRoundRobin,
    WorstDirectionFirst,
    make_therapist,
)

__all__ = ["HEURISTICS", "ChallengePoint", "LearningProgress", "NoTherapy", "RandomTherapist",
           "SB3Therapist", "Therapist", "UniformRoundRobin", "WorstDirectionFirst",
           "make_therapist"]

if __name__ == "__main__":
    for name, cls in HEURISTICS.items():
        print(f"{name:18s} {(cls.__doc__ or '').splitlines()[0]}")
