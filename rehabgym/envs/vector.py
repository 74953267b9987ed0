"""`TherapyVectorEnv`: N patients in one `PatientBatch`, stepped together (Gymnasium 1.x).

The native batched counterpart of `TherapyEnv`: one cortex batch and one arm batch simulate
every patient's day at once, split by patient over the machine's cores (`ClosedLoop`), so a day
of N patients costs less than N days of one (`rehabgym bench env` measures how much). Spaces,
action decoding, observations and rewards are the single environment's own functions
(`rehabgym.envs.actions`, `rehabgym.envs.ward`), applied per slot of a `TherapyWard` of N.

Autoreset follows Gymnasium's default `AutoresetMode.NEXT_STEP`: the step that truncates an
episode returns its last observation; the next `step` call resets the sub-environments (their
actions are ignored) and returns the new patients' first observations with reward 0 and
`terminated = truncated = False`. All sub-environments share the episode length and start
together, so they truncate and reset together; the new patients are drawn from each
sub-environment's own generator, as a `SyncVectorEnv` of `TherapyEnv`s would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rehabgym.envs.actions import action_space, check_action, decode_action, to_multidiscrete
from rehabgym.envs.config import TherapyEnvConfig, resolve_config
from rehabgym.envs.render import render_rgb
from rehabgym.envs.ward import TherapyWard, check_options, lesion_from_option, observation_space
from rehabgym.patient import PatientBatch
from rehabgym.patient.state import data_state, state_data


def slot_seeds(seed: int | list[int | None] | None, n: int) -> list[int | None]:
    """Each of `n` sub-environments' seed from a vector env's `reset(seed=...)`: an int s
    seeds sub-environment i with s + i (as a `SyncVectorEnv` of single envs would), a list
    gives one each (None: a fresh generator)."""
    if seed is None:
        return [None] * n
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(n)]
    seeds = list(seed)
    if len(seeds) != n:
        raise ValueError(f"seed: expected {n} seeds, got {len(seeds)}")
    return seeds


class TherapyVectorEnv(VectorEnv):
    """`num_envs` therapy environments simulated as one batch of patients.

    Args:
        num_envs: number of patients (sub-environments).
        config: a `TherapyEnvConfig`, YAML path or dict, as for `TherapyEnv`.
        render_mode: None or "rgb_array" (`render()` returns one picture per sub-environment).
        max_episode_steps: optional cap on therapy days per episode (`gymnasium.make_vec`
            passes the spec's value); episodes last `min(horizon_days, max_episode_steps)`.
        **overrides: any `TherapyEnvConfig` field, as keyword arguments of `TherapyEnv`.

    `reset(seed=s)` seeds sub-environment i with `s + i` (a list gives one seed each), like
    `SyncVectorEnv` of `TherapyEnv`s: sub-environment i is the single env reset with that seed,
    the same lesion, random streams and scores (a test follows them over days).
    `options={"lesion": L}` fixes every patient's lesion, `{"lesion": [L0, L1, ...]}` one per
    sub-environment.
    """

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        config: TherapyEnvConfig | str | Path | dict[str, Any] | None = None,
        render_mode: str | None = None,
        *,
        max_episode_steps: int | None = None,
        **overrides: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) \
                or num_envs < 1:
            raise ValueError(f"num_envs: must be an integer >= 1, got {num_envs!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: {render_mode!r} is not 'rgb_array' or None")
        self.config = resolve_config(config, **overrides)
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.horizon = min(self.config.horizon_days, max_episode_steps or np.iinfo(int).max)
        self.single_action_space = action_space(self.config)
        self.single_observation_space = observation_space(self.config)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.ward = TherapyWard(self.config, self.num_envs)
        self._rngs = [seeding.np_random()[0] for _ in range(self.num_envs)]
        self._autoreset = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        n = self.num_envs
        seeds = slot_seeds(seed, n)
        for i, s in enumerate(seeds):
            if s is not None or self.ward.batch is None:
                self._rngs[i] = seeding.np_random(s)[0]
        lesions = self._lesions(options)
        self.ward.admit(self._rngs, lesions)
        self._autoreset[:] = False
        infos: dict[str, Any] = {}
        for i in range(n):
            infos = self._add_info(infos, self.ward.info(i), i)
        return self.ward.observations(), infos

    def get_state(self) -> dict[str, Any]:
        """Everything that fixes this env's future, as data (`torch.load(weights_only=True)`
        reads it back): the patients mid-episode, each slot's generator and the autoreset
        flags. `set_state` on an env of the same config and size continues exactly."""
        w = self.ward
        if w.batch is None:
            raise RuntimeError("call reset() before get_state()")
        return {"batch": state_data(w.batch.get_state()),
                "therapy_day": torch.from_numpy(w.therapy_day.copy()),
                "history": [list(map(float, h)) for h in w.history],
                "success": torch.from_numpy(w.success.copy()),
                "rngs": [r.bit_generator.state for r in self._rngs],
                "autoreset": torch.from_numpy(self._autoreset.copy())}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from `get_state`'s state (of an env of the same config and size)."""
        if len(state["rngs"]) != self.num_envs:
            raise ValueError(f"state: of {len(state['rngs'])} sub-environments, this env has "
                             f"{self.num_envs}")
        w = self.ward
        w.batch = PatientBatch.from_state(data_state(state["batch"]))
        w.lesions = list(w.batch.lesions)
        w.assessment = list(w.batch.last)
        w.therapy_day = state["therapy_day"].numpy().copy()
        w.history = [list(h) for h in state["history"]]
        w.success = state["success"].numpy().copy()
        for rng, st in zip(self._rngs, state["rngs"]):
            rng.bit_generator.state = st
        self._autoreset = state["autoreset"].numpy().copy()

    def _lesions(self, options: dict[str, Any] | None) -> list:
        value = (options or {}).get("lesion")
        if isinstance(value, (list, tuple)):
            if len(value) != self.num_envs:
                raise ValueError(f"options['lesion']: expected {self.num_envs} lesions, "
                                 f"got {len(value)}")
            return [lesion_from_option(v) for v in value]
        return [check_options(options)] * self.num_envs

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        if self.ward.batch is None:
            raise RuntimeError("call reset() before step()")
        checked = to_multidiscrete(check_action(actions, self.action_space), self.config)
        n = self.num_envs
        infos: dict[str, Any] = {}
        if self._autoreset.any():
            # Every episode has the same length and they all start together, so they all end
            # together: the autoreset step admits a new batch of patients; actions are ignored.
            self.ward.admit(self._rngs)
            self._autoreset[:] = False
            for i in range(n):
                infos = self._add_info(infos, self.ward.info(i), i)
            return (self.ward.observations(), np.zeros(n), np.zeros(n, dtype=bool),
                    np.zeros(n, dtype=bool), infos)
        terms = self.ward.treat([decode_action(a, self.config) for a in checked])
        rewards = np.array([t["reward"] for t in terms], dtype=np.float64)
        for i, t in enumerate(terms):
            extra = {k: v for k, v in t.items() if k != "reward"}
            infos = self._add_info(infos, {**self.ward.info(i), **extra}, i)
        truncations = self.ward.therapy_day >= self.horizon
        self._autoreset = truncations.copy()
        return (self.ward.observations(), rewards, np.zeros(n, dtype=bool), truncations,
                infos)

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode is None or self.ward.batch is None:
            return None
        return tuple(render_rgb(self.ward, i) for i in range(self.num_envs))

    def close_extras(self, **kwargs: Any) -> None:
        self.ward = TherapyWard(self.config, self.num_envs)
