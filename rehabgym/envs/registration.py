"""The registered environment ids (Gymnasium's registry), with string entry points.

String entry points keep registration light: it imports only Gymnasium, and the environment
classes (with torch and MuJoCo) load when an environment is first made.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENV_IDS = ("rehabgym/Therapy-v2", "rehabgym/TherapyBiomarkers-v2")

# The spec's time limit: TherapyEnvConfig.horizon_days's default (a test checks they agree).
# Longer horizons: pass max_episode_steps to gymnasium.make, as for any registered id.
MAX_EPISODE_STEPS = 30


def register_envs() -> None:
    """Register every id that is not registered yet (prints nothing)."""
    for env_id, kwargs in zip(ENV_IDS, ({}, {"biomarkers": True})):
        if env_id not in registry:
            register(
                id=env_id,
                entry_point="rehabgym.envs.therapy:TherapyEnv",
                vector_entry_point="rehabgym.envs.vector:TherapyVectorEnv",
                max_episode_steps=MAX_EPISODE_STEPS,
                kwargs=kwargs,
            )
