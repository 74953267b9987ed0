"""Gymnasium therapist environments, registered on `import rehabgym` under `rehabgym/`.

| id | observation |
|---|---|
| `rehabgym/Therapy-v0` | what a clinic sees: assessment profile, score, day, dose, fatigue |
| `rehabgym/TherapyBiomarkers-v0` | the same plus neural biomarkers |

Both also build the native batched vector environment through
`gymnasium.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")`.
Registration imports only Gymnasium (string entry points); the environment classes, and with
them torch and MuJoCo, load on first use.
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

ENV_IDS = ("rehabgym/Therapy-v0", "rehabgym/TherapyBiomarkers-v0")

# The spec's time limit: TherapyEnvConfig.horizon_days's default (a test checks they agree).
# Longer horizons: pass max_episode_steps to gymnasium.make, as for any registered id.
MAX_EPISODE_STEPS = 30

for _id, _kwargs in zip(ENV_IDS, ({}, {"biomarkers": True})):
    if _id not in registry:
        register(
            id=_id,
            entry_point="rehabgym.envs.therapy:TherapyEnv",
            vector_entry_point="rehabgym.envs.vector:TherapyVectorEnv",
            max_episode_steps=MAX_EPISODE_STEPS,
            kwargs=_kwargs,
        )

_LAZY = {"TherapyEnv": "therapy", "TherapyEnvConfig": "therapy", "TherapyVectorEnv": "vector"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"rehabgym.envs.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'rehabgym.envs' has no attribute {name!r}")


__all__ = ["ENV_IDS", "MAX_EPISODE_STEPS", "TherapyEnv", "TherapyEnvConfig", "TherapyVectorEnv"]
