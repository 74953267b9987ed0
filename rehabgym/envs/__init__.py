"""Gymnasium therapist environments, registered on `import rehabgym` under `rehabgym/`.

| id | observation |
|---|---|
| `rehabgym/Therapy-v2` | what a clinic sees: assessment profile, score, day, dose, fatigue |
| `rehabgym/TherapyBiomarkers-v2` | the same plus neural biomarkers |

Both also build the native batched vector environment through
`gymnasium.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")`.
`import rehabgym.envs` imports only Gymnasium; the environment classes, and with them torch
and MuJoCo (about 2 s), load on first use: `from rehabgym.envs.therapy import TherapyEnv`.
"""

from rehabgym.envs.registration import ENV_IDS, MAX_EPISODE_STEPS, register_envs

__all__ = ["ENV_IDS", "MAX_EPISODE_STEPS", "register_envs"]
