"""Therapists: who chooses what the patient practises each day.

One small interface in the spirit of teacher–student curriculum learning (the therapist is the
teacher, the patient the student): `reset(obs, info)` at the start of an episode, `act(obs, info)`
to choose the day's session, `observe(obs, reward, info)` to see its outcome. Heuristic therapists
choose only the direction (or rest); distance, assistance and repetitions are fixed levels given
to the constructor. `SB3Therapist` wraps a trained Stable-Baselines3 model.

The action is the environment's `MultiDiscrete([9, n_dist, n_assist, n_reps])`: entry 0 is a
center-out direction 0..7 or 8 = rest day (or 9 = all directions, with the environment's
`all_directions`), then indices into the distance, assistance and repetition levels. The
assessment profile (0–100 per direction) is read from `info["profile"]` when the environment
gives it, else from the first 8 observation entries (profile / 100).
"""

from __future__ import annotations

import abc
import ast
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from rehabgym.config import ConfigError
from rehabgym.envs.therapy import N_DIRECTIONS, REST, unflatten_action


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
    """

    name = "therapist"

    def __init__(
        self,
        action_space: spaces.Space,
        seed: int | None = None,
        distance: int | None = None,
        assistance: int | None = None,
        reps: int | None = None,
    ) -> None:
        if not isinstance(action_space, spaces.MultiDiscrete):
            raise TypeError(
                f"{type(self).__name__} needs a MultiDiscrete action space, got {action_space}")
        self.action_space = action_space
        self.nvec = np.asarray(action_space.nvec, dtype=np.int64)
        self.rng = np.random.default_rng(seed)
        levels = [distance, assistance, reps]
        self.levels = np.array(
            [n // 2 if lv is None else lv for n, lv in zip(self.nvec[1:], levels)], dtype=np.int64)
        for name, lv, n in zip(("distance", "assistance", "reps"), self.levels, self.nvec[1:]):
            if not 0 <= lv < n:
                raise ValueError(f"{name}: level {lv} is outside 0..{n - 1}")

    def session(self, direction: int) -> np.ndarray:
        """The full action for practising `direction` (or REST) at the fixed levels."""
        action = np.empty(len(self.nvec), dtype=self.action_space.dtype)
        action[0] = direction
        action[1:] = self.levels[: len(self.nvec) - 1]
        return action

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """A new patient: forget the previous one."""

    @abc.abstractmethod
    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The action for today."""

    def observe(  # noqa: B027 - optional hook
        self, obs: np.ndarray, reward: float, info: dict[str, Any]
    ) -> None:
        """The outcome of the last action (the next assessment)."""


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


class SB3Therapist(Therapist):
    """A trained Stable-Baselines3 model as a therapist.

    Args:
        model: a Stable-Baselines3 algorithm instance (see `load_sb3_model`).
        obs_rms: optional VecNormalize statistics (`normalize_obs(obs)` is applied first).
        action_space: the environment's MultiDiscrete space; a model trained on the Discrete
            flattening (DQN) has its actions mapped back into it (`unflatten`).
        deterministic: the most probable action (`model.predict(deterministic=True)`); False
            samples the policy's action distribution (PPO, A2C) with the therapist's own
            seeded generator, so a patient seed gives the same schedule every time. The
            stochastic policy is the one PPO optimises: when several actions are equally good
            (e.g. the direction of a session), its argmax repeats one of them every day.
        seed: seed of the sampling.
    """

    name = "sb3"

    def __init__(self, model: Any, action_space: spaces.Space, obs_rms: Any = None,
                 deterministic: bool = True, seed: int | None = None) -> None:
        super().__init__(action_space, seed)
        self.model = model
        self.obs_rms = obs_rms
        self.deterministic = deterministic

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations [N, obs_dim] -> [N, len(nvec)]."""
        obs = np.asarray(obs, dtype=np.float32)
        if self.obs_rms is not None:
            obs = self.obs_rms.normalize_obs(obs).astype(np.float32)
        if self.deterministic:
            action, _ = self.model.predict(obs, deterministic=True)
        else:
            action = self._sample(obs)
        action = np.asarray(action)
        if isinstance(self.model.action_space, spaces.Discrete):
            action = self.unflatten(action.reshape(-1))
        return action.reshape(len(obs), len(self.nvec)).astype(self.action_space.dtype)

    def _sample(self, obs: np.ndarray) -> np.ndarray:
        """Actions drawn from the policy's categorical heads with `self.rng`."""
        import torch

        policy = self.model.policy
        if not hasattr(policy, "get_distribution"):
            raise ValueError(f"deterministic=False needs a policy-gradient model (ppo, a2c), "
                             f"got {type(self.model).__name__}")
        with torch.no_grad():
            tensor, _ = policy.obs_to_tensor(obs)
            dist = policy.get_distribution(tensor).distribution
        heads = dist if isinstance(dist, list) else [dist]
        columns = []
        for head in heads:
            cdf = np.cumsum(head.probs.cpu().numpy().astype(np.float64), axis=1)
            u = self.rng.random((len(cdf), 1)) * cdf[:, -1:]
            columns.append(np.minimum((u > cdf).sum(axis=1), cdf.shape[1] - 1))
        return np.stack(columns, axis=1) if isinstance(dist, list) else columns[0]

    def unflatten(self, flat: np.ndarray) -> np.ndarray:
        """MultiDiscrete actions from the environment's Discrete flattening."""
        return unflatten_action(flat, self.nvec)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        return self.act_batch(np.asarray(obs)[None])[0]


ALGORITHMS = ("ppo", "a2c", "dqn")


def load_sb3_model(path: str | Path, algorithm: str = "ppo") -> Any:
    """Load an SB3 `.zip` saved by `algorithm` ("ppo", "a2c" or "dqn") on the CPU."""
    import stable_baselines3

    if algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm: {algorithm!r} is not one of {list(ALGORITHMS)}")
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model file not found: {path}")
    return getattr(stable_baselines3, algorithm.upper()).load(path, device="cpu")


HEURISTICS: dict[str, type[Therapist]] = {
    cls.name: cls
    for cls in (NoTherapy, RandomTherapist, UniformRoundRobin, WorstDirectionFirst,
                ChallengePoint, LearningProgress)
}
"""Registry of heuristic therapists by name (`rehabgym evaluate --therapist <name>`)."""


def heuristic_factory(spec: str) -> Callable[[spaces.Space, int | None], Therapist]:
    """A per-patient factory `(action_space, seed) -> Therapist` from a heuristic's spec: its
    name (`worst_first`) or its name with constructor arguments
    (`round_robin(distance=1, assistance=0, reps=3)`: the level indices, or e.g. `target=0.5`).
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
    allowed = sorted((named | {"distance", "assistance", "reps"}) - {"action_space", "seed"})
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

    def factory(action_space: spaces.Space, seed: int | None = None) -> Therapist:
        return cls(action_space, seed=seed, **kwargs)

    return factory


def sb3_factory(model: Any, deterministic: bool = True
                ) -> Callable[[spaces.Space, int | None], Therapist]:
    """A per-patient factory `(action_space, seed) -> SB3Therapist` sharing one loaded model,
    so its patients are predicted as one batch."""

    def factory(action_space: spaces.Space, seed: int | None = None) -> Therapist:
        return SB3Therapist(model, action_space, seed=seed, deterministic=deterministic)

    return factory


def make_therapist(spec: str, action_space: spaces.Space, seed: int | None = None) -> Therapist:
    """A therapist from its command-line name: a heuristic (`worst_first`, or with arguments
    `round_robin(assistance=0, reps=3)`) or `<algorithm>:<path.zip>` for a trained model
    (`ppo:runs/x/model.zip`)."""
    if ":" in spec:
        algorithm, path = spec.split(":", 1)
        return sb3_factory(load_sb3_model(path, algorithm))(action_space, seed)
    return heuristic_factory(spec)(action_space, seed)
