"""The musculoskeletal arm: MJCF model, batched stepping, rendering. Knows nothing of neurons."""

from rehabgym.arm.arm import N_MUSCLES, Arm, ArmState
from rehabgym.arm.model import JOINT_NAMES, MUSCLE_NAMES, ArmConfig, build_mjcf, build_model

__all__ = ["Arm", "ArmConfig", "ArmState", "JOINT_NAMES", "MUSCLE_NAMES", "N_MUSCLES",
           "build_mjcf", "build_model"]
