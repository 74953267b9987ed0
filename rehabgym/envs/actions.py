"""The therapist's action: its spaces, checking, the Discrete flattening, and the session plan
it stands for.

Entry 0 is a center-out direction 0..7, `REST` (8) or, with `all_directions`, `ALL` (9: a
session spread over all 8 directions); entries 1-3 index the distance, assistance and
repetition levels of the config, and entry 4, when the config has `precision_levels`, the
precision level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.patient import N_DIRECTIONS, SessionPlan

REST = N_DIRECTIONS  # first action entry: 0..7 a center-out direction, 8 = rest day
ALL = N_DIRECTIONS + 1  # 9 = a session spread over all 8 directions (with `all_directions`)


def multidiscrete_nvec(cfg: TherapyEnvConfig) -> np.ndarray:
    """[direction or rest (or all), distance, assistance, repetitions(, precision)] level
    counts."""
    precision = [len(cfg.precision_levels)] if cfg.precision_levels else []
    return np.array([N_DIRECTIONS + 1 + cfg.all_directions, len(cfg.distances),
                     len(cfg.assistance_levels), len(cfg.repetition_levels), *precision],
                    dtype=np.int64)


def action_space(cfg: TherapyEnvConfig) -> spaces.Space:
    """`MultiDiscrete([9, n_dist, n_assist, n_reps])` (10 with `all_directions`; a fifth entry
    n_precision with `precision_levels`), or its `Discrete` flattening.

    The flat index enumerates (direction 0..7 then "all" if enabled, distance, assistance,
    repetitions(, precision)) in C order; the last index is the rest day (its other entries
    mean nothing, so they are not repeated).
    """
    nvec = multidiscrete_nvec(cfg)
    if cfg.action_type == "discrete":
        return spaces.Discrete(discrete_size(nvec))
    return spaces.MultiDiscrete(nvec)


def discrete_size(nvec: np.ndarray) -> int:
    """The number of actions of the Discrete flattening of `MultiDiscrete(nvec)`: every
    practice session, and one rest day."""
    return int((nvec[0] - 1) * np.prod(nvec[1:])) + 1


def check_action(action: Any, space: spaces.Space) -> np.ndarray:
    """`action` as an int64 array if it belongs to `space`; else a ValueError naming both.

    Stricter than `space.contains`: floats and booleans are refused even when integral, so a
    policy emitting the wrong dtype fails loudly instead of being silently truncated.
    """
    arr = np.asarray(action)
    if arr.dtype.kind not in "iu":
        problem = f"dtype {arr.dtype} is not an integer dtype"
    elif arr.shape != space.shape:
        problem = f"shape {arr.shape} is not {space.shape}"
    elif not space.contains(arr.astype(space.dtype)):
        problem = "a value is out of range"
    else:
        return arr.astype(np.int64)
    raise ValueError(f"invalid action {action!r} for action space {space}: {problem}")


def to_multidiscrete(action: np.ndarray, cfg: TherapyEnvConfig) -> np.ndarray:
    """[..., entries] MultiDiscrete actions from checked actions of either action type."""
    if cfg.action_type == "multidiscrete":
        return np.asarray(action, dtype=np.int64)
    return unflatten_action(action, multidiscrete_nvec(cfg))


def unflatten_action(flat: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """[..., entries] MultiDiscrete actions of space `nvec` from indices of its Discrete
    flattening (see `action_space`): flat target 8 is "all directions", the last index the
    rest day (its other entries 0)."""
    flat = np.asarray(flat, dtype=np.int64)
    shape = (int(nvec[0]) - 1, *(int(n) for n in nvec[1:]))
    rest = flat >= int(np.prod(shape))
    out = np.stack(np.unravel_index(np.where(rest, 0, flat), shape), axis=-1)
    out[..., 0] = np.where(out[..., 0] >= N_DIRECTIONS, ALL, out[..., 0])
    out[rest] = (REST, *([0] * (len(shape) - 1)))
    return out


def decode_action(action: np.ndarray, cfg: TherapyEnvConfig) -> SessionPlan:
    """The session plan of one MultiDiscrete action (a rest day practises nothing)."""
    direction, dist, assist, reps = (int(a) for a in action[:4])
    if direction == REST:
        return SessionPlan()
    directions = tuple(range(N_DIRECTIONS)) if direction == ALL else (direction,)
    precision = float(cfg.precision_levels[int(action[4])]) if cfg.precision_levels else None
    return SessionPlan(directions=directions, repetitions=int(cfg.repetition_levels[reps]),
                       distance=float(cfg.distances[dist]),
                       assistance=float(cfg.assistance_levels[assist]), precision=precision)
