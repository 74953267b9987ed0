"""rehabgym: a virtual stroke patient and RL therapist environments."""
