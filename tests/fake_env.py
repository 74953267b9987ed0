"""A tiny stand-in for the therapist environment (same spaces, toy recovery dynamics), registered
as `rehabgym_test/FakeTherapy-v2`, for tests of therapists, evaluation and training that need
no patient simulation."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rehabgym.envs.actions import ALL, REST

FAKE_ID = "rehabgym_test/FakeTherapy-v2"


class FakeTherapyEnv(gym.Env):
    """Stand-in with the therapist env's spaces: practising a direction raises its score."""

    metadata = {"render_modes": []}

    def __init__(self, config: Any = None, horizon_days: int = 5,
                 action_type: str = "multidiscrete", all_directions: bool = False,
                 **_: Any) -> None:
        if isinstance(config, dict):
            horizon_days = config.get("horizon_days", horizon_days)
            all_directions = config.get("all_directions", all_directions)
        self.horizon = horizon_days
        self.nvec = np.array([10 if all_directions else 9, 3, 4, 4])
        self.action_type = action_type
        self.action_space = (spaces.MultiDiscrete(self.nvec) if action_type == "multidiscrete"
                             else spaces.Discrete(8 * 48 + 1))
        self.observation_space = spaces.Box(0.0, 1.0, (13,), np.float32)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.profile / 100, [self.profile.mean() / 100,
                               self.day / self.horizon, self.dose / 1000, 0.0, 0.0]]
                              ).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        return {"score": float(self.profile.mean()), "profile": self.profile.copy(),
                "day": self.day, "dose": self.dose}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.profile = self.np_random.uniform(20, 80, 8)
        self.day, self.dose = 0, 0
        return self._obs(), self._info()

    def step(self, action):
        if self.action_type == "discrete":
            a = int(action)
            action = (REST, 0, 0, 0) if a == 8 * 48 else np.unravel_index(a, (8, 3, 4, 4))
        d, _, _, r = (int(x) for x in action)
        before = self.profile.mean()
        if d != REST:
            reps = (15, 30, 60, 120)[r]
            dirs = slice(None) if d == ALL else d
            self.profile[dirs] += 0.1 * reps * (1 - self.profile[dirs] / 100)
            self.dose += reps
        self.day += 1
        reward = float(self.profile.mean() - before)
        return self._obs(), reward, False, self.day >= self.horizon, self._info()


if FAKE_ID not in gym.registry:
    gym.register(FAKE_ID, entry_point=FakeTherapyEnv)
