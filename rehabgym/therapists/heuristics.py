"""Heuristic therapists: simple rules a clinic might follow, the baselines a learned one must beat.

They choose the direction (or rest); distance, assistance and repetitions are fixed levels
given to the constructor (the middle ones by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from rehabgym.envs.actions import ALL, REST
from rehabgym.patient import N_DIRECTIONS
from rehabgym.therapists.base import Therapist, profile_of


class NoTherapy(Therapist):
    """Rest every day: spontaneous recovery only (the control arm)."""

    name = "no_therapy"

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        return self.session(REST)


class RandomTherapist(Therapist):
    """A uniformly random action each day (all entries, rest included), seeded."""

    name = "random"

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        return self.rng.integers(0, self.nvec).astype(self.action_space.dtype)


class UniformRoundRobin(Therapist):
    """Directions 0, 1, …, 7, 0, … in turn: uniform practice, no rest."""

    name = "round_robin"

    def __init__(self, action_space: spaces.Space, seed: int | None = None,
                 **levels: int | None) -> None:
        super().__init__(action_space, seed, **levels)
        self.day = 0

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self.day = 0

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        direction = self.day % N_DIRECTIONS
        self.day += 1
        return self.session(direction)


class WorstDirectionFirst(Therapist):
    """Practise the direction with the lowest assessment score (ties: lowest index)."""

    name = "worst_first"

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        return self.session(int(np.argmin(profile_of(obs, info))))


class ChallengePoint(Therapist):
    """Practise where performance is nearest a target success rate (Guadagnoli & Lee 2004).

    The per-direction score / 100 stands in for the success rate; `target` = 0.7 practises
    directions that are hard but not hopeless.
    """

    name = "challenge_point"

    def __init__(self, action_space: spaces.Space, seed: int | None = None,
                 target: float = 0.7, **levels: int | None) -> None:
        super().__init__(action_space, seed, **levels)
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"target: {target} is outside [0, 1]")
        self.target = target

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        gap = np.abs(profile_of(obs, info) / 100.0 - self.target)
        return self.session(int(np.argmin(gap)))


class LearningProgress(Therapist):
    """Practise the direction whose score changed fastest when last practised (Matiisen et al.
    2017, "online" teacher): an exponential average of each direction's score change after it
    was practised, the largest |change| wins, with epsilon-greedy exploration. Directions never
    practised are tried first.
    """

    name = "learning_progress"

    def __init__(self, action_space: spaces.Space, seed: int | None = None,
                 alpha: float = 0.3, epsilon: float = 0.1, **levels: int | None) -> None:
        super().__init__(action_space, seed, **levels)
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha: {alpha} is outside (0, 1]")
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon: {epsilon} is outside [0, 1]")
        self.alpha, self.epsilon = alpha, epsilon
        self._clear()

    def _clear(self) -> None:
        self.progress = np.zeros(N_DIRECTIONS)
        self.tried = np.zeros(N_DIRECTIONS, dtype=bool)
        self.last_profile: np.ndarray | None = None
        self.last_direction: int | None = None

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self._clear()
        self.last_profile = profile_of(obs, info)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        if self.last_profile is None:
            self.last_profile = profile_of(obs, info)
        untried = np.flatnonzero(~self.tried)
        if untried.size:
            direction = int(untried[0])
        elif self.rng.random() < self.epsilon:
            direction = int(self.rng.integers(N_DIRECTIONS))
        else:
            direction = int(np.argmax(np.abs(self.progress)))
        self.last_direction = direction
        return self.session(direction)

    def observe(self, obs: np.ndarray, reward: float, info: dict[str, Any]) -> None:
        profile = profile_of(obs, info)
        d = self.last_direction
        if d is not None and self.last_profile is not None:
            change = profile[d] - self.last_profile[d]
            self.progress[d] += self.alpha * (change - self.progress[d])
            self.tried[d] = True
        self.last_profile = profile


class OneDirection(Therapist):
    """Practise one direction every day (default 0): all of the dose on one movement."""

    name = "one_direction"

    def __init__(self, action_space: spaces.Space, seed: int | None = None,
                 direction: int = 0, **levels: int | None) -> None:
        super().__init__(action_space, seed, **levels)
        if not 0 <= direction < N_DIRECTIONS:
            raise ValueError(f"direction: {direction} is outside 0..{N_DIRECTIONS - 1}")
        self.direction = direction

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        return self.session(self.direction)


class AdaptiveTherapist(Therapist):
    """Assist-as-needed at the challenge point: difficulty follows the patient's success.

    The distance and assistance levels form a ladder from easiest (most assistance, nearest
    target) to hardest (no assistance, farthest target); level indices are taken to be in
    increasing order, as the environment's defaults are. The first session's rung follows the
    patient's score; after each session the therapist climbs one rung when the session's success
    rate was above `target + band` and steps down one when it was below `target - band`
    (Krebs et al. 2003 adapt assistance to performance; Guadagnoli & Lee 2004 and Wilson et al.
    2019 put learning at an intermediate success rate). The direction is the one most in need:
    the lowest score of the last assessment. Repetitions are the fixed level. Given a
    `distance`, the ladder is the assistance levels alone at that distance, as robot-aided
    therapy adapts the robot's assistance to targets at one radius (Krebs et al. 2003). With
    the environment's precision entry, the rungs above the hardest reach demand more precision
    (a smaller target: too easy a task is made harder, not left).
    """

    name = "adaptive"

    def __init__(self, action_space: spaces.Space, seed: int | None = None,
                 target: float = 0.7, band: float = 0.1, **levels: int | None) -> None:
        super().__init__(action_space, seed, **levels)
        if not 0.0 < target < 1.0:
            raise ValueError(f"target: {target} is outside (0, 1)")
        if not 0.0 <= band < 0.5:
            raise ValueError(f"band: {band} is outside [0, 0.5)")
        self.target, self.band = target, band
        n_dist, n_assist = int(self.nvec[1]), int(self.nvec[2])
        distances = range(n_dist) if levels.get("distance") is None else [int(self.levels[0])]
        #: rungs (distance, assistance, precision) from easiest to hardest; with the precision
        #: entry (not fixed), smaller targets are the rungs above the hardest reach
        precision = int(self.levels[3]) if len(self.nvec) > 4 else 0
        self.ladder = [(d, a, precision) for a in range(n_assist - 1, -1, -1) for d in distances]
        if len(self.nvec) > 4 and levels.get("precision") is None:
            d, a, _ = self.ladder[-1]
            self.ladder += [(d, a, p) for p in range(1, int(self.nvec[4]))]
        self.rung: int | None = None
        self.practised = False

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self.rung, self.practised = None, False

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        profile = profile_of(obs, info)
        if self.rung is None:
            score = float(info["score"]) if info and "score" in info else float(profile.mean())
            self.rung = int(np.clip(round(score / 100.0 * (len(self.ladder) - 1)), 0,
                                    len(self.ladder) - 1))
        action = self.session(int(np.argmin(profile)))
        action[1], action[2], precision = self.ladder[self.rung]
        if len(self.nvec) > 4:
            action[4] = precision
        self.practised = True
        return action

    def observe(self, obs: np.ndarray, reward: float, info: dict[str, Any]) -> None:
        rate = info.get("success_rate") if info else None
        if not self.practised or rate is None or not np.isfinite(rate) or self.rung is None:
            return
        if rate > self.target + self.band:
            self.rung = min(self.rung + 1, len(self.ladder) - 1)
        elif rate < self.target - self.band:
            self.rung = max(self.rung - 1, 0)


class AllDirections(Therapist):
    """Every session spread over all 8 directions in turn (the center-out protocol of
    robot-aided therapy, Krebs et al. 1998); needs an environment with `all_directions`."""

    name = "all_directions"

    def __init__(self, action_space: spaces.Space, seed: int | None = None,
                 **levels: int | None) -> None:
        super().__init__(action_space, seed, **levels)
        if self.nvec[0] <= ALL:
            raise ValueError(f"all_directions: the action space {action_space} has no 'all "
                             f"directions' value; make the environment with all_directions=True")

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        return self.session(ALL)
