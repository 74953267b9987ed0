"""What can be tuned of each heuristic: its search space and its untuned values.

A search space draws a heuristic's constructor arguments from an Optuna trial; its defaults
are the heuristic's own, so the untuned therapist is the first trial of every study. The
tuned file `rehabgym tune` writes is read by `therapists.tuned.load_tuned`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rehabgym.config import ConfigError
from rehabgym.envs.config import TherapyEnvConfig

#: the distance entry of a ladder over every distance (the adaptive therapist's default)
LADDER = "ladder"


def _adaptive(trial: Any, env: TherapyEnvConfig) -> dict[str, Any]:
    """The success band the ladder aims at, and the fixed levels (None: the heuristic's)."""
    distance = trial.suggest_categorical(
        "distance", [LADDER, *range(len(env.distances))])
    params = {"target": trial.suggest_float("target", 0.4, 0.9),
              "band": trial.suggest_float("band", 0.0, 0.3),
              "reps": trial.suggest_int("reps", 0, len(env.repetition_levels) - 1)}
    if distance != LADDER:
        params["distance"] = int(distance)
    return params


def _adaptive_defaults(env: TherapyEnvConfig) -> dict[str, Any]:
    return {"distance": LADDER, "target": 0.7, "band": 0.1,
            "reps": len(env.repetition_levels) // 2}


def _challenge_point(trial: Any, env: TherapyEnvConfig) -> dict[str, Any]:
    return {"target": trial.suggest_float("target", 0.3, 0.95),
            "distance": trial.suggest_int("distance", 0, len(env.distances) - 1),
            "assistance": trial.suggest_int("assistance", 0, len(env.assistance_levels) - 1),
            "reps": trial.suggest_int("reps", 0, len(env.repetition_levels) - 1)}


def _challenge_point_defaults(env: TherapyEnvConfig) -> dict[str, Any]:
    return {"target": 0.7, "distance": len(env.distances) // 2,
            "assistance": len(env.assistance_levels) // 2,
            "reps": len(env.repetition_levels) // 2}


SearchSpace = tuple[Callable[[Any, TherapyEnvConfig], dict[str, Any]],
                    Callable[[TherapyEnvConfig], dict[str, Any]]]

#: tunable heuristics: (the trial's constructor arguments, the untuned trial's values)
SEARCH_SPACES: dict[str, SearchSpace] = {
    "adaptive": (_adaptive, _adaptive_defaults),
    "challenge_point": (_challenge_point, _challenge_point_defaults),
}


def check_tunable(name: str) -> None:
    """A ConfigError naming the tunable heuristics when `name` is not one."""
    if name not in SEARCH_SPACES:
        raise ConfigError(f"therapist: {name!r} cannot be tuned; allowed: "
                          f"{sorted(SEARCH_SPACES)}")
