"""Every default of the plasticity rules (one dataclass, switchable rule by rule)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rehabgym.cortex.sheet import AREA_NAMES

RULES = ("reward", "homeostasis", "structural", "window", "daily_life", "diaschisis")


@dataclass
class PlasticityConfig:
    reward: bool = True
    homeostasis: bool = True
    structural: bool = True
    window: bool = True
    daily_life: bool = True  # spontaneous use of the arm between sessions (see patient.py)
    diaschisis: bool = True  # acute depression of survivors that lost input, resolving

    # reward-modulated node perturbation
    learning_rate: float = 0.0002  # recurrent synapses
    output_learning_rate: float = 0.0004  # corticospinal synapses (x2: half the motor noise)
    #: rate of each patient's running outcome per direction (kept and saved; the reward rule
    #: uses the block's mean instead)
    baseline_rate: float = 0.3
    max_weight: float = 2.0  # magnitudes are bounded in [0, max_weight]
    # homeostasis (per day)
    homeostasis_rate: float = 0.05  # exponent of the daily scaling factor
    homeostasis_max_step: float = 0.02  # at most +-2 % per day
    # structural plasticity (per day)
    sprout_rate: float = 0.002  # new synapses per living neuron per day, times p(distance)
    peri_infarct_boost: float = 4.0  # extra sprouting at the lesion border
    peri_infarct_length: float = 0.3  # mm over which the boost decays
    sprout_weight: float = 0.02  # magnitude of a new synapse
    prune_threshold: float = 0.005  # synapses weaker than this may be pruned
    prune_probability: float = 0.2  # per weak synapse per day
    #: daily growth of corticospinal fibres per unit of lost drive (off by default)
    cst_sprout_rate: float = 0.0
    #: daily growth of the output of neurons that lost targets (per unit lost), and its bound
    axon_sprout_rate: float = 1.0
    axon_sprout_bound: float = 4.0  # output grows up to (1 + bound * lost fraction) x healthy
    #: whose neurons sprout (docs/results/phenomena.md measures M1 too)
    axon_sprout_areas: tuple[str, ...] = ("PM",)
    # post-stroke window
    window_amplitude: float = 4.0  # gain = 1 + A exp(-day / tau)
    window_tau_days: float = 14.0
    # diaschisis: day-0 depression = depth x lost excitatory input (at most cap), then
    # exp(-day / tau)
    diaschisis_depth: float = 2.0
    diaschisis_cap: float = 0.8
    diaschisis_tau_days: float = 5.0

    def __post_init__(self) -> None:
        for name in ("learning_rate", "output_learning_rate", "homeostasis_rate", "sprout_rate",
                     "peri_infarct_boost", "sprout_weight", "prune_threshold", "cst_sprout_rate",
                     "window_amplitude", "axon_sprout_rate", "axon_sprout_bound",
                     "diaschisis_depth"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)}")
        for name in ("baseline_rate", "prune_probability", "homeostasis_max_step"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}: must be in [0, 1], got {getattr(self, name)}")
        bad = [a for a in self.axon_sprout_areas if a not in AREA_NAMES]
        if bad:
            raise ValueError(f"axon_sprout_areas: unknown {bad}; allowed: {list(AREA_NAMES)}")
        if not 0 <= self.diaschisis_cap < 1:
            raise ValueError(f"diaschisis_cap: must be in [0, 1), got {self.diaschisis_cap}")
        for name in ("max_weight", "window_tau_days", "peri_infarct_length",
                     "diaschisis_tau_days"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)}")

    def without(self, rule: str) -> PlasticityConfig:
        """A copy with `rule` switched off (an ablation)."""
        if rule not in RULES:
            raise ValueError(f"rule: unknown {rule!r}; allowed: {list(RULES)}")
        return replace(self, **{rule: False})
