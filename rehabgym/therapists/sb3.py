"""A trained Stable-Baselines3 model as a therapist.

SB3 saves a model as a `.zip` holding pickled Python objects, so loading one runs code from
the file: load only models you trust.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import stable_baselines3
import torch
from gymnasium import spaces

from rehabgym.config import ConfigError
from rehabgym.envs.actions import discrete_size, unflatten_action
from rehabgym.therapists.base import Therapist
from rehabgym.therapists.residual import (
    apply_correction,
    augment,
    check_base_space,
    correction_space,
)

#: the attribute a residual model carries (saved with it): its heuristic's spec
RESIDUAL_ATTRIBUTE = "rehabgym_residual"


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
        self._check_model_space()

    def _check_model_space(self) -> None:
        """A ValueError naming both spaces when the model was trained on another action
        space (e.g. without the precision entry): its actions would be decoded wrongly."""
        space = self.model.action_space
        if isinstance(space, spaces.Discrete):
            ok = int(space.n) == discrete_size(self.nvec)
        else:
            ok = np.array_equal(np.asarray(space.nvec), self.expected_nvec())
        if not ok:
            raise ValueError(f"model: trained on the action space {space}, which is not the "
                             f"environment's {self.action_space} (or its flattening)")

    def expected_nvec(self) -> np.ndarray:
        """The MultiDiscrete nvec the model's actions must have (the environment's)."""
        return self.nvec

    def features(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """What the model sees of today's observation (the observation itself)."""
        return np.asarray(obs)

    def decide(self, output: np.ndarray) -> np.ndarray:
        """Today's action from the model's output for `features` (the output itself)."""
        return output

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """The model's outputs for a batch of `features` [N, obs_dim] -> [N, len(nvec)]."""
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
        return action.reshape(len(obs), -1).astype(self.action_space.dtype)

    def _sample(self, obs: np.ndarray) -> np.ndarray:
        """Actions drawn from the policy's categorical heads with `self.rng`."""
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
        return self.decide(self.act_batch(self.features(obs, info)[None])[0])


class ResidualTherapist(SB3Therapist):
    """A trained correction (`therapists.residual`) applied to its heuristic's action.

    The heuristic (`base`) sees every observation and outcome as it would alone; each day the
    model sees the observation and the heuristic's proposal and corrects it. A model whose
    output is always the zero correction is the heuristic.
    """

    name = "residual"

    def __init__(self, model: Any, action_space: spaces.Space, base: Therapist,
                 obs_rms: Any = None, deterministic: bool = True,
                 seed: int | None = None) -> None:
        super().__init__(model, action_space, obs_rms, deterministic, seed)
        check_base_space(action_space)
        self.base = base
        self._proposal = np.zeros(len(self.nvec), dtype=np.int64)

    def expected_nvec(self) -> np.ndarray:
        """A residual model outputs corrections (`correction_space` of the environment's)."""
        return correction_space(self.nvec).nvec

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self.base.reset(obs, info)

    def observe(self, obs: np.ndarray, reward: float, info: dict[str, Any]) -> None:
        self.base.observe(obs, reward, info)

    def features(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        self._proposal = np.asarray(self.base.act(obs, info), dtype=np.int64)
        return augment(obs, self._proposal, self.nvec)

    def decide(self, output: np.ndarray) -> np.ndarray:
        return apply_correction(self._proposal, output, self.nvec).astype(
            self.action_space.dtype)


ALGORITHMS = ("ppo", "a2c", "dqn")


def load_sb3_model(path: str | Path, algorithm: str = "ppo") -> Any:
    """Load an SB3 `.zip` saved by `algorithm` ("ppo", "a2c" or "dqn") on the CPU.

    An SB3 model file is a pickle in SB3's own format: loading it runs code from the file, so
    load only models you made or trust (patient files and checkpoints hold data only)."""
    check_model(path, algorithm)
    return getattr(stable_baselines3, algorithm.upper()).load(Path(path), device="cpu")


def check_model(path: str | Path, algorithm: str = "ppo") -> None:
    """A ConfigError now, without loading anything, for an unknown algorithm or a missing
    model file."""
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm: {algorithm!r} is not one of {list(ALGORITHMS)}")
    if not Path(path).is_file():
        raise ConfigError(f"model file not found: {path}")


def sb3_factory(model: Any, deterministic: bool = True
                ) -> Callable[[spaces.Space, int | None], Therapist]:
    """A per-patient factory `(action_space, seed) -> SB3Therapist` sharing one loaded model,
    so its patients are predicted as one batch; a residual model (one that carries its
    heuristic's spec) gives `ResidualTherapist`s, each with its own heuristic."""
    residual = getattr(model, RESIDUAL_ATTRIBUTE, None)
    if residual is not None:
        from rehabgym.therapists.registry import heuristic_factory  # it imports this module

        base = heuristic_factory(residual)

    def factory(action_space: spaces.Space, seed: int | None = None) -> Therapist:
        if residual is not None:
            return ResidualTherapist(model, action_space, base(action_space, seed), seed=seed,
                                     deterministic=deterministic)
        return SB3Therapist(model, action_space, seed=seed, deterministic=deterministic)

    return factory
