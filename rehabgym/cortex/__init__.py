"""The motor cortex: sheet geometry, network dynamics, lesions, plasticity. Knows no MuJoCo."""

from rehabgym.cortex.network import N_OUTPUTS, Cortex, CortexConfig, Weights
from rehabgym.cortex.sheet import AREA_NAMES, M1, PM, Sheet, SheetConfig

__all__ = ["AREA_NAMES", "Cortex", "CortexConfig", "M1", "N_OUTPUTS", "PM", "Sheet",
           "SheetConfig", "Weights"]
