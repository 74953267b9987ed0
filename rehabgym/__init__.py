"""rehabgym: a virtual stroke patient and RL therapist environments.

Importing it registers the environments with Gymnasium (`rehabgym/Therapy-v2`, ...) and does
nothing else: no output, no backend or thread settings, no torch or MuJoCo import.
"""

from rehabgym.envs.registration import register_envs

register_envs()
