"""The post-stroke window of heightened plasticity (Murphy & Corbett 2009)."""

from __future__ import annotations

import numpy as np

from rehabgym.cortex.plasticity.config import PlasticityConfig


def window_gain(days_since_stroke: np.ndarray, cfg: PlasticityConfig) -> np.ndarray:
    """Multiplier of every plasticity rate: 1 + A exp(-day / tau); 1 when switched off."""
    days = np.asarray(days_since_stroke, dtype=float)
    if not cfg.window:
        return np.ones_like(days)
    return 1.0 + cfg.window_amplitude * np.exp(-np.maximum(days, 0.0) / cfg.window_tau_days)
