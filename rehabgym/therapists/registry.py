"""One registry of therapists, and one parser of the specs that name them.

A spec is a heuristic's name (`worst_first`), a heuristic with constructor arguments
(`round_robin(distance=1, assistance=0, reps=3)`: level indices, or e.g. `target=0.5`), or
`<algorithm>:<model.zip>` for a trained Stable-Baselines3 model (`ppo:runs/x/model.zip`).
`params='<tuned.yaml>'` reads a heuristic's arguments from a file `rehabgym tune` wrote
(`adaptive(params='runs/tune/adaptive/tuned.yaml')`).
The same strings work on the command line (`rehabgym evaluate --therapist ...`) and in a
training config's `baselines`.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from typing import Any

from gymnasium import spaces

from rehabgym.config import ConfigError
from rehabgym.therapists.base import Therapist
from rehabgym.therapists.heuristics import (
    AdaptiveTherapist,
    AllDirections,
    ChallengePoint,
    LearningProgress,
    NoTherapy,
    OneDirection,
    RandomTherapist,
    UniformRoundRobin,
    WorstDirectionFirst,
)
from rehabgym.therapists.sb3 import check_model, load_sb3_model, sb3_factory
from rehabgym.therapists.tuned import load_tuned

TherapistFactory = Callable[[spaces.Space, int | None], Therapist]
"""Builds a fresh therapist for one patient: (single-env action space, seed) -> Therapist."""

HEURISTICS: dict[str, type[Therapist]] = {
    cls.name: cls
    for cls in (NoTherapy, RandomTherapist, UniformRoundRobin, WorstDirectionFirst,
                ChallengePoint, LearningProgress, OneDirection, AdaptiveTherapist, AllDirections)
}
"""Registry of heuristic therapists by name."""

BASELINES = ("no_therapy", "random", "round_robin", "worst_first", "challenge_point",
             "learning_progress", "adaptive")
"""The heuristics a therapist is compared with by default."""


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """A heuristic's spec as its name and constructor arguments:
    `round_robin(distance=1, reps=3)` -> ("round_robin", {"distance": 1, "reps": 3}).
    An unknown name or argument is a ConfigError (a ValueError) naming the allowed ones."""
    match = re.fullmatch(r"\s*(\w+)\s*(?:\((.*)\))?\s*", spec)
    name = match.group(1) if match else spec
    if name not in HEURISTICS:
        raise ConfigError(
            f"therapist: {spec!r} is not one of {sorted(HEURISTICS)} (optionally with arguments, "
            f"e.g. 'round_robin(assistance=0, reps=3)') or <algorithm>:<model.zip>")
    cls = HEURISTICS[name]
    named = {p.name for p in inspect.signature(cls).parameters.values()
             if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    allowed = sorted((named | {"distance", "assistance", "reps", "precision", "params"})
                     - {"action_space", "seed"})
    kwargs: dict[str, Any] = {}
    for item in filter(None, (a.strip() for a in (match.group(2) or "").split(","))):
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or key not in allowed:
            raise ConfigError(f"therapist {spec!r}: {item!r} is not <argument>=<number>; "
                             f"allowed arguments of {name}: {allowed}")
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError) as exc:
            raise ConfigError(f"therapist {spec!r}: {key}={value!r} is not a number") from exc
    if "params" in kwargs:
        kwargs = {**load_tuned(kwargs.pop("params"), name), **kwargs}
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise ConfigError(f"therapist {spec!r}: the tuned file's {unknown} are not "
                              f"arguments of {name}; allowed: {allowed}")
    return name, kwargs


def format_spec(name: str, kwargs: dict[str, Any]) -> str:
    """A heuristic's spec from its name and arguments: `adaptive(target=0.6, band=0.1)`."""
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"{name}({args})" if args else name


def resolve_spec(spec: str) -> str:
    """`spec` with a tuned file's values written out (`adaptive(params='t.yaml')` ->
    `adaptive(target=0.6, ...)`): a spec that means the same on every machine and after the
    file changes. Other specs come back as they are."""
    if ":" in spec or "params" not in spec:
        return spec
    return format_spec(*parse_spec(spec))


def heuristic_factory(spec: str) -> TherapistFactory:
    """A per-patient factory `(action_space, seed) -> Therapist` from a heuristic's spec: its
    name (`worst_first`) or its name with constructor arguments (see `parse_spec`)."""
    name, kwargs = parse_spec(spec)
    cls = HEURISTICS[name]

    def factory(action_space: spaces.Space, seed: int | None = None) -> Therapist:
        return cls(action_space, seed=seed, **kwargs)

    return factory


def therapist_factory(spec: str, sample: bool = False) -> TherapistFactory:
    """A per-patient factory from any spec (see the module docstring). A model is loaded once
    and shared, so its patients are predicted as one batch; `sample` draws its actions from
    its policy, seeded per patient, instead of taking the argmax."""
    if ":" in spec:
        algorithm, path = spec.split(":", 1)
        return sb3_factory(load_sb3_model(path, algorithm), deterministic=not sample)
    return heuristic_factory(spec)


def check_spec(spec: str, action_space: spaces.Space | None = None) -> None:
    """A spec's error now, before any work and without loading a model: an unknown heuristic
    or argument (with `action_space`, also one the space cannot take), an unknown algorithm or
    a missing model file is a ConfigError naming it."""
    if ":" in spec:
        algorithm, path = spec.split(":", 1)
        check_model(path, algorithm)
        return
    factory = heuristic_factory(spec)
    if action_space is not None:
        factory(action_space, 0)


def make_therapist(spec: str, action_space: spaces.Space, seed: int | None = None) -> Therapist:
    """One therapist from its spec (see the module docstring)."""
    return therapist_factory(spec)(action_space, seed)
