"""Residual therapy: a learned correction of a heuristic therapist's daily action.

The learner sees the patient's observation and the heuristic's proposed action, and chooses a
*correction*: entry 0 keeps the heuristic's direction (0) or replaces it by direction value
k - 1 (a direction, rest or, with `all_directions`, all); entries 1-3 move the distance,
assistance and repetition levels (and entry 4 the precision level, with the environment's
`precision_levels`) by -1, 0 or +1 (indices 0, 1, 2; clipped to the levels).
The zero correction `[0, 1, 1, 1]` is the heuristic's own action, so a learner that starts
there starts from what the rule knows (residual policy learning: Silver et al. 2018,
Johannink et al. 2019) and has to learn only where the rule errs.

`ResidualVectorEnv` wraps the environment's vector env for training (one heuristic per
patient); `ResidualTherapist` is the trained correction with its heuristic, as a therapist.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from rehabgym.therapists.base import Therapist

#: the correction of each level entry that changes nothing (delta -1, 0, +1 at 0, 1, 2)
NO_DELTA = 1


def correction_space(nvec: np.ndarray) -> spaces.MultiDiscrete:
    """`MultiDiscrete([1 + nvec[0], 3, 3, 3])`: keep or replace the direction, move each level."""
    nvec = np.asarray(nvec, dtype=np.int64)
    return spaces.MultiDiscrete(np.array([1 + nvec[0], *([3] * (len(nvec) - 1))],
                                         dtype=np.int64))


def zero_correction(nvec: np.ndarray) -> np.ndarray:
    """The correction that keeps the heuristic's action: `[0, 1, 1, 1]`."""
    return np.array([0, *([NO_DELTA] * (len(nvec) - 1))], dtype=np.int64)


def apply_correction(base: np.ndarray, correction: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """[..., entries] environment actions: the heuristic's `base` actions corrected."""
    base = np.asarray(base, dtype=np.int64)
    correction = np.asarray(correction, dtype=np.int64)
    nvec = np.asarray(nvec, dtype=np.int64)
    out = base.copy()
    out[..., 0] = np.where(correction[..., 0] > 0, correction[..., 0] - 1, base[..., 0])
    out[..., 1:] = np.clip(base[..., 1:] + correction[..., 1:] - NO_DELTA, 0, nvec[1:] - 1)
    return out


def augment(obs: np.ndarray, base: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """[..., obs_dim + entries] float32: the observation followed by the heuristic's action, each
    entry scaled to [0, 1] by its number of values."""
    scale = np.maximum(np.asarray(nvec, dtype=np.float64) - 1, 1)
    return np.concatenate([np.asarray(obs, dtype=np.float32),
                           (np.asarray(base, dtype=np.float64) / scale).astype(np.float32)],
                          axis=-1)


def augmented_space(space: spaces.Box, nvec: np.ndarray) -> spaces.Box:
    """The observation space of `augment`'s observations."""
    n = len(nvec)
    return spaces.Box(np.concatenate([space.low, np.zeros(n, np.float32)]),
                      np.concatenate([space.high, np.ones(n, np.float32)]), dtype=np.float32)


def check_base_space(space: spaces.Space) -> np.ndarray:
    """The nvec of a MultiDiscrete action space; a ValueError for any other."""
    if not isinstance(space, spaces.MultiDiscrete):
        raise ValueError(f"residual: needs the MultiDiscrete action (action_type "
                         f"'multidiscrete'), got {space}")
    return np.asarray(space.nvec, dtype=np.int64)


def _rows(info: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Each sub-environment's entries of a vector env's info dict."""
    out: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info.get("_" + key)
        for i in range(n):
            if mask is None or np.asarray(mask)[i]:
                out[i][key] = _rows(value, n)[i] if isinstance(value, dict) else value[i]
    return out


def _slot_seeds(seed: int | list[int | None] | None, n: int) -> list[int | None]:
    """Each sub-environment's seed, as the vector env seeds them (s + i for an int)."""
    if seed is None:
        return [None] * n
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(n)]
    return list(seed)


class ResidualVectorEnv(gym.vector.VectorWrapper):
    """A vector env whose actions are corrections of a heuristic therapist's actions.

    Each sub-environment has its own heuristic (`spec`, seeded with the sub-environment's
    seed), reset with each new patient and shown each day's outcome, as in an evaluation.
    Observations are `augment(obs, the heuristic's action for the next day)`; the action
    space is `correction_space`. Works with next-step autoreset (the native vector env).
    """

    def __init__(self, env: gym.vector.VectorEnv, spec: str) -> None:
        super().__init__(env)
        self.heuristic = spec
        self.nvec = check_base_space(env.single_action_space)
        from rehabgym.therapists.registry import heuristic_factory  # the registry imports this

        self._factory = heuristic_factory(spec)
        self.single_action_space = correction_space(self.nvec)
        self.single_observation_space = augmented_space(env.single_observation_space,
                                                        self.nvec)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._therapists: list[Therapist] = []
        self._seeds: list[int | None] = [None] * self.num_envs
        self._base = np.zeros((self.num_envs, len(self.nvec)), dtype=np.int64)
        self._ended = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None or not self._therapists:
            self._seeds = _slot_seeds(seed, self.num_envs)
            space = self.env.single_action_space
            self._therapists = [self._factory(space, s) for s in self._seeds]
        self._admit(obs, info, np.ones(self.num_envs, dtype=bool))
        return augment(obs, self._base, self.nvec), info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        correction = np.asarray(actions)
        if correction.shape != self.action_space.shape or \
                not self.action_space.contains(correction.astype(np.int64)):
            raise ValueError(f"invalid correction {actions!r} for action space "
                             f"{self.action_space}")
        ended = self._ended.copy()
        full = apply_correction(self._base, correction, self.nvec)
        obs, reward, terminated, truncated, info = self.env.step(full)
        if ended.any():  # next-step autoreset: those sub-environments have new patients
            self._admit(obs, info, ended)
        rows = _rows(info, self.num_envs)
        for i in np.flatnonzero(~ended):
            self._therapists[i].observe(obs[i], float(reward[i]), rows[i])
        self._ended = np.asarray(terminated) | np.asarray(truncated)
        self._propose(obs, rows, ~ended)
        return augment(obs, self._base, self.nvec), reward, terminated, truncated, info

    def get_state(self) -> dict[str, Any]:
        """The wrapped env's state (`get_state`) and each heuristic's memory, as data."""
        return {"env": self.env.unwrapped.get_state(),
                "therapists": [t.get_state() for t in self._therapists],
                "seeds": list(self._seeds), "base": self._base.tolist(),
                "ended": self._ended.tolist()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from `get_state`'s state (of a wrapper of the same spec and size)."""
        self.env.unwrapped.set_state(state["env"])
        self._seeds = list(state["seeds"])
        space = self.env.single_action_space
        self._therapists = [self._factory(space, s) for s in self._seeds]
        for therapist, memory in zip(self._therapists, state["therapists"]):
            therapist.set_state(memory)
        self._base = np.array(state["base"], dtype=np.int64)
        self._ended = np.array(state["ended"], dtype=bool)

    def base_actions(self) -> np.ndarray:
        """[N, entries] the heuristics' actions for the next day (what a zero correction does)."""
        return self._base.copy()

    def _admit(self, obs: np.ndarray, info: dict[str, Any], which: np.ndarray) -> None:
        rows = _rows(info, self.num_envs)
        for i in np.flatnonzero(which):
            self._therapists[i].reset(obs[i], rows[i])
        self._ended[which] = False
        self._propose(obs, rows, which)

    def _propose(self, obs: np.ndarray, rows: list[dict[str, Any]], which: np.ndarray) -> None:
        for i in np.flatnonzero(which):
            self._base[i] = self._therapists[i].act(obs[i], rows[i])
