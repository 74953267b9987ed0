"""rehabgym: a virtual stroke patient and RL therapist environments."""

import rehabgym.envs  # noqa: F401  (registers the Gymnasium environments; prints nothing)
