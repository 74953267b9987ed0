"""The training environments as SB3 sees them: the native batched vector env behind an SB3
`VecEnv` adapter (or SB3's own vector envs of single environments), optional reward
normalisation and an episode end that is terminal for the critic.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecEnv,
    VecEnvWrapper,
    VecMonitor,
    VecNormalize,
)

from rehabgym.envs.registration import register_envs
from rehabgym.envs.shards import ShardedVectorEnv
from rehabgym.evaluation.engine import on_one_thread
from rehabgym.therapists.residual import ResidualVectorEnv
from rehabgym.training.config import TrainConfig


class NativeVecEnvAdapter(VecEnv):
    """A Gymnasium `VectorEnv` (the environment's batched patients) seen as an SB3 `VecEnv`.

    SB3 expects a finished sub-env to be reset within the same step, with the last observation
    in `infos[i]["terminal_observation"]`. Gymnasium vector envs either do that (same-step
    autoreset, final obs in `info["final_obs"]`) or reset on the next step; with a fixed horizon
    every patient finishes on the same day, and the adapter then resets them all at once.
    Episode statistics (`info["episode"]`) are added for SB3's `rollout/ep_rew_mean`.
    """

    def __init__(self, envs: gym.vector.VectorEnv) -> None:
        self.envs = envs  # first: SB3's constructor reads render_mode through get_attr
        super().__init__(envs.num_envs, envs.single_observation_space, envs.single_action_space)
        mode = envs.metadata.get("autoreset_mode")
        self.same_step = getattr(mode, "value", mode) == "SameStep"
        self._actions: np.ndarray | None = None
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)
        self._t0 = time.time()

    def reset(self) -> np.ndarray:
        seeds = self._seeds
        seed = None if all(s is None for s in seeds) else [int(s or 0) for s in seeds]
        obs, _ = self.envs.reset(seed=seed, options=self._options[0] if self._options else None)
        self._reset_seeds()
        self._reset_options()
        self._returns[:] = 0
        self._lengths[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, reward, terminated, truncated, info = self.envs.step(self._actions)
        done = np.asarray(terminated) | np.asarray(truncated)
        self._returns += reward
        self._lengths += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done.any():
            if self.same_step:
                final = info.get("final_obs")
                terminal = [final[i] for i in range(self.num_envs)]
            elif done.all():
                terminal = list(obs)
                obs, _ = self.envs.reset()
            else:
                raise RuntimeError(
                    "patients finished on different days under next-step autoreset; use "
                    "vec_env: dummy (or an environment with same-step autoreset)")
            for i in np.flatnonzero(done):
                infos[i]["terminal_observation"] = terminal[i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                infos[i]["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i]),
                                       "t": round(time.time() - self._t0, 6)}
            self._returns[done] = 0
            self._lengths[done] = 0
        return obs, np.asarray(reward, dtype=np.float32), done, infos

    def close(self) -> None:
        self.envs.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.envs, attr_name, None)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.envs, attr_name, value)

    def env_method(self, method_name: str, *args: Any, indices: Any = None,
                   **kwargs: Any) -> list[Any]:
        result = getattr(self.envs, method_name)(*args, **kwargs)
        return [result] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False] * len(self._get_indices(indices))


def make_train_env(cfg: TrainConfig) -> VecEnv:
    """The training vector env of `cfg` as an SB3 VecEnv, seeded with `cfg.seed`: the native
    vector env in `cfg.env_workers` processes (each shard on one thread) or in this one."""
    kwargs = cfg.make_kwargs()
    if cfg.vec_env == "native":
        workers = min(cfg.env_workers or os.cpu_count() or 1, cfg.n_envs)
        envs = (ShardedVectorEnv(cfg.env_id, cfg.n_envs, workers, **on_one_thread(kwargs))
                if workers > 1 else gym.make_vec(cfg.env_id, num_envs=cfg.n_envs,
                                                 vectorization_mode="vector_entry_point",
                                                 **kwargs))
        if cfg.residual is not None:
            envs = ResidualVectorEnv(envs, cfg.residual)
        venv: VecEnv = NativeVecEnvAdapter(envs)
    else:
        fns = [_EnvFactory(cfg.env_id, kwargs) for _ in range(cfg.n_envs)]
        venv = VecMonitor(DummyVecEnv(fns) if cfg.vec_env == "dummy" else SubprocVecEnv(fns))
    venv.seed(cfg.seed)
    if not cfg.bootstrap_horizon:
        venv = EpisodeEndIsTerminal(venv)
    if cfg.normalize_reward:
        venv = VecNormalize(venv, norm_obs=False, norm_reward=True,
                            gamma=cfg.hyperparameters.get("gamma", 0.99))
    return venv


class EpisodeEndIsTerminal(VecEnvWrapper):
    """Clears SB3's `TimeLimit.truncated` flag, so the last day of an episode is not
    bootstrapped: for a fixed horizon that the observation shows, the episode end is the end
    of the task."""

    def reset(self) -> np.ndarray:
        return self.venv.reset()

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, reward, done, infos = self.venv.step_wait()
        for info in infos:
            info.pop("TimeLimit.truncated", None)
        return obs, reward, done, infos


class _EnvFactory:
    """Picklable `gymnasium.make` call (SubprocVecEnv sends it to the workers)."""

    def __init__(self, env_id: str, kwargs: dict[str, Any]) -> None:
        self.env_id, self.kwargs = env_id, kwargs

    def __call__(self) -> gym.Env:
        register_envs()  # a fresh worker process has not imported rehabgym
        return gym.make(self.env_id, **self.kwargs)


def normalization_file(checkpoint: Path) -> Path:
    """The `VecNormalize` statistics saved with a checkpoint (or beside `model.zip`): a pickle
    in SB3's format, like the model itself (loading either runs code from the file)."""
    stem = checkpoint.stem
    name = stem.replace("model_", "model_vecnormalize_", 1) if stem.startswith("model_") \
        else "vecnormalize"
    return checkpoint.with_name(name + ".pkl")
