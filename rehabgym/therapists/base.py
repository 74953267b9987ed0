"""The therapist interface: who chooses what the patient practises each day.

One small interface in the spirit of teacher–student curriculum learning (the therapist is the
teacher, the patient the student): `reset(obs, info)` at the start of an episode, `act(obs,
info)` to choose the day's session, `observe(obs, reward, info)` to see its outcome.

The action is the environment's `MultiDiscrete([9, n_dist, n_assist, n_reps])`: entry 0 is a
center-out direction 0..7 or 8 = rest day (or 9 = all directions, with the environment's
`all_directions`), then indices into the distance, assistance and repetition levels (and the
precision levels, with the environment's `precision_levels`). The
assessment profile (0–100 per direction) is read from `info["profile"]` when the environment
gives it, else from the first 8 observation entries (profile / 100).
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np
from gymnasium import spaces

from rehabgym.patient import N_DIRECTIONS


def profile_of(obs: np.ndarray, info: dict[str, Any] | None) -> np.ndarray:
    """The assessment profile on 0–100 per direction (float64, length 8)."""
    if info and "profile" in info:
        return np.asarray(info["profile"], dtype=np.float64).reshape(-1)[:N_DIRECTIONS]
    return 100.0 * np.asarray(obs, dtype=np.float64).reshape(-1)[:N_DIRECTIONS]


class Therapist(abc.ABC):
    """Chooses one therapy day at a time for one patient.

    Args:
        action_space: the environment's `MultiDiscrete` action space.
        seed: seed of the therapist's own randomness (exploration, tie breaks).
        distance, assistance, reps: fixed level indices for the non-direction action entries;
            None picks the middle level.
        precision: fixed precision level index, for an action space with the precision entry
            (None: level 0, the least demanding).
    """

    name = "therapist"

    def __init__(
        self,
        action_space: spaces.Space,
        seed: int | None = None,
        distance: int | None = None,
        assistance: int | None = None,
        reps: int | None = None,
        precision: int | None = None,
    ) -> None:
        if not isinstance(action_space, spaces.MultiDiscrete):
            raise TypeError(
                f"{type(self).__name__} needs a MultiDiscrete action space, got {action_space}")
        self.action_space = action_space
        self.nvec = np.asarray(action_space.nvec, dtype=np.int64)
        self.rng = np.random.default_rng(seed)
        if precision is not None and len(self.nvec) < 5:
            raise ValueError(f"precision: the action space {action_space} has no precision "
                             f"entry; make the environment with precision_levels")
        middle = [n // 2 for n in self.nvec[1:4]] + [0]  # precision: the least demanding
        levels = [distance, assistance, reps, precision]
        self.levels = np.array([m if lv is None else lv for m, lv, _ in
                                zip(middle, levels, self.nvec[1:])], dtype=np.int64)
        for name, lv, n in zip(("distance", "assistance", "reps", "precision"), self.levels,
                               self.nvec[1:]):
            if not 0 <= lv < n:
                raise ValueError(f"{name}: level {lv} is outside 0..{n - 1}")

    def session(self, direction: int) -> np.ndarray:
        """The full action for practising `direction` (or REST) at the fixed levels."""
        action = np.empty(len(self.nvec), dtype=self.action_space.dtype)
        action[0] = direction
        action[1:] = self.levels[: len(self.nvec) - 1]
        return action

    def get_state(self) -> dict[str, Any]:
        """What the therapist remembers (of its patient, its generator), as plain data: lists,
        numbers, strings. `set_state` on a therapist of the same spec continues exactly."""
        return {k: _to_data(v) for k, v in vars(self).items() if k not in _FIXED}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from `get_state`'s state."""
        for key, value in state.items():
            if key in _FIXED:  # fixed at construction (a state saved by an older rehabgym)
                continue
            current = getattr(self, key)
            if isinstance(current, np.random.Generator):
                current.bit_generator.state = value["generator"]
            else:
                setattr(self, key, _from_data(value))

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """A new patient: forget the previous one."""

    @abc.abstractmethod
    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The action for today."""

    def observe(  # noqa: B027 - optional hook
        self, obs: np.ndarray, reward: float, info: dict[str, Any]
    ) -> None:
        """The outcome of the last action (the next assessment)."""


#: attributes fixed at construction that `get_state` leaves out and `set_state` keeps
_FIXED = ("action_space", "nvec", "ladder")


def _to_data(value: Any) -> Any:
    if isinstance(value, np.random.Generator):
        return {"generator": value.bit_generator.state}
    if isinstance(value, np.ndarray):
        return {"array": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(_to_data(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_data(v) for k, v in value.items()}
    return value


def _from_data(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"array", "dtype"}:
        return np.array(value["array"], dtype=value["dtype"])
    if isinstance(value, (list, tuple)):
        return type(value)(_from_data(v) for v in value)
    if isinstance(value, dict):
        return {k: _from_data(v) for k, v in value.items()}
    return value
