"""`PatientConfig`: every default of a virtual patient, its plasticity rules included."""

from __future__ import annotations

from dataclasses import dataclass, field

from rehabgym.cortex.plasticity import PlasticityConfig
from rehabgym.patient.plan import N_DIRECTIONS


@dataclass
class PatientConfig:
    """Every default of a patient (the plasticity rules included)."""

    plasticity: PlasticityConfig = field(default_factory=PlasticityConfig)
    checkpoint: str | None = None  # cortex checkpoint; None = the healthy one shipped
    n_directions: int = N_DIRECTIONS
    distance: float = 0.10  # m, assessment distance
    duration: float = 1.0  # s per reach
    score_window: tuple[float, float] = (0.6, 1.0)  # s: error averaged here scores a reach
    assessment_repeats: int = 2
    assessment_seed: int = 12345
    block_size: int = 32  # reaches per plasticity update
    max_repetitions: int = 500
    max_assist_gain: float = 150.0  # N/m, assistance 1
    fatigue_per_rep: float = 0.004  # fatigue added by an unassisted repetition
    fatigue_recovery: float = 0.7  # fraction of fatigue gone after a day
    daily_life_reps: int = 40  # spontaneous reaches per day at full use
    use_threshold: float = 40.0  # score at which half of full daily use happens
    use_width: float = 10.0
    disuse_decay: float = 0.02  # daily weakening of output synapses at zero use
    nthread: int | None = None

    def __post_init__(self) -> None:
        if self.n_directions < 1:
            raise ValueError(f"n_directions: must be >= 1, got {self.n_directions}")
        if self.block_size < 1 or self.assessment_repeats < 1:
            raise ValueError("block_size, assessment_repeats: must be >= 1")
        if not 0 <= self.fatigue_recovery <= 1:
            raise ValueError(f"fatigue_recovery: allowed 0..1, got {self.fatigue_recovery}")
