"""Every default of the plasticity rules (one dataclass, switchable rule by rule)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from rehabgym.config import ConfigError, Fraction, NonNegative, Positive, Range, check_fields
from rehabgym.cortex.sheet import AREA_NAMES

RULES = ("reward", "success", "graded", "homeostasis", "structural", "window", "daily_life",
         "diaschisis")


@dataclass
class PlasticityConfig:
    """Every default of the plasticity rules; each rule can be switched off (ablations)."""

    reward: bool = True
    #: the reward rule reinforces success (a sigmoid of the reach's score around
    #: `success_threshold`), so practice far too hard or far too easy teaches little; off, it
    #: reinforces the raw outcome (every reach's unclipped score) as before version 1
    success: bool = True
    #: beside success, the graded outcome (`error_weight` times the reach's unclipped score)
    #: is reinforced, so a patient whose reaches all fail still learns (version 2); off, v1
    graded: bool = True
    homeostasis: bool = True
    structural: bool = True
    window: bool = True
    daily_life: bool = True  # spontaneous use of the arm between sessions
    diaschisis: bool = True  # acute depression of survivors that lost input, resolving

    # reward-modulated node perturbation
    learning_rate: NonNegative = 0.0002  # recurrent synapses
    output_learning_rate: NonNegative = 0.0004  # corticospinal synapses (x2: half the motor noise)
    #: the corticospinal update's presynaptic term is each neuron's rate minus this fraction of
    #: its mean rate in the latest assessment (a covariance rule, Sejnowski 1977), so practice
    #: of one direction changes less of what every direction shares; 0: the rate itself
    output_covariance: Fraction = 0.0
    #: rate of each patient's running outcome per direction (kept and saved; the reward rule
    #: uses the block's mean instead)
    baseline_rate: Fraction = 0.3
    max_weight: Positive = 2.0  # magnitudes are bounded in [0, max_weight]
    success_threshold: Annotated[float, Range(0, 1)] = 0.7  # reach score of half a success
    success_width: Annotated[float, Range(0.001, 10)] = 0.05  # score over which success rises
    error_weight: NonNegative = 0.2  # weight of the graded outcome beside success
    # homeostasis (per day)
    homeostasis_rate: NonNegative = 0.05  # exponent of the daily scaling factor
    homeostasis_max_step: Fraction = 0.02  # at most +-2 % per day
    #: exponent of the daily scaling of each muscle's corticospinal inputs toward their healthy
    #: total (part of `homeostasis`; 0: off, as in v2), at most `homeostasis_max_step` a day
    spinal_scaling_rate: NonNegative = 0.0
    #: whose fibres spinal scaling scales (the total it compares counts every fibre); M1's
    #: corticomotoneuronal cells are the direct input to motoneurons (Lemon 2008)
    spinal_scaling_areas: tuple[str, ...] = ("M1", "PM")
    # structural plasticity (per day)
    sprout_rate: NonNegative = 0.002  # new synapses per living neuron per day, times p(distance)
    peri_infarct_boost: NonNegative = 4.0  # extra sprouting at the lesion border
    peri_infarct_length: Positive = 0.3  # mm over which the boost decays
    sprout_weight: NonNegative = 0.02  # magnitude of a new synapse
    prune_threshold: NonNegative = 0.005  # synapses weaker than this may be pruned
    prune_probability: Fraction = 0.2  # per weak synapse per day
    #: daily growth of corticospinal fibres per unit of lost drive (off by default)
    cst_sprout_rate: NonNegative = 0.0
    #: daily growth of the output of neurons that lost targets (per unit lost), and its bound
    axon_sprout_rate: NonNegative = 1.0
    axon_sprout_bound: NonNegative = 4.0  # output grows up to (1 + bound * lost fraction) x healthy
    #: whose neurons sprout (docs/results/phenomena.md measures M1 too)
    axon_sprout_areas: tuple[str, ...] = ("PM",)
    # post-stroke window
    window_amplitude: NonNegative = 4.0  # gain = 1 + A exp(-day / tau)
    window_tau_days: Positive = 14.0
    # diaschisis: day-0 depression = depth x lost excitatory input (at most cap), then
    # exp(-day / tau)
    diaschisis_depth: NonNegative = 2.0
    diaschisis_cap: Annotated[float, Range(0, 1, high_open=True)] = 0.8
    diaschisis_tau_days: Positive = 5.0

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("axon_sprout_areas", "spinal_scaling_areas"):
            bad = [a for a in getattr(self, name) if a not in AREA_NAMES]
            if bad:
                raise ConfigError(f"{name}: unknown {bad}; allowed: {list(AREA_NAMES)}")
        if self.sprout_weight > self.max_weight:
            raise ConfigError(f"sprout_weight: must be <= max_weight ({self.max_weight}), "
                              f"got {self.sprout_weight}")

    def without(self, rule: str) -> PlasticityConfig:
        """A copy with `rule` switched off (an ablation)."""
        if rule not in RULES:
            raise ValueError(f"rule: unknown {rule!r}; allowed: {list(RULES)}")
        return replace(self, **{rule: False})
