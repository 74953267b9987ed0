"""`PatientConfig`: every default of a virtual patient, its plasticity rules included."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import torch

from rehabgym.config import (
    ConfigError,
    Fraction,
    NonNegative,
    NonNegativeInt,
    Range,
    check_fields,
)
from rehabgym.cortex.plasticity import PlasticityConfig
from rehabgym.patient.plan import DISTANCES, N_DIRECTIONS


@dataclass
class PatientConfig:
    """Every default of a patient (the plasticity rules included)."""

    plasticity: PlasticityConfig = field(default_factory=PlasticityConfig)
    checkpoint: str | None = None  # cortex: a path or a shipped file's name; None = the default
    n_directions: Annotated[int, Range(1, 64)] = N_DIRECTIONS
    distance: Annotated[float, DISTANCES] = 0.10  # m, assessment distance
    duration: Annotated[float, Range(0.1, 5.0)] = 1.0  # s per reach
    #: s: the mean error in this window scores a reach (within the reach's duration)
    score_window: tuple[NonNegative, NonNegative] = (0.6, 1.0)
    assessment_repeats: Annotated[int, Range(1, 100)] = 2
    assessment_seed: NonNegativeInt = 12345
    block_size: Annotated[int, Range(1, 1024)] = 16  # reaches per plasticity update (padded)
    max_repetitions: Annotated[int, Range(1, 10_000)] = 500
    max_assist_gain: NonNegative = 150.0  # N/m, assistance 1
    fatigue_per_rep: NonNegative = 0.004  # fatigue added by an unassisted repetition
    fatigue_recovery: Fraction = 0.7  # fraction of fatigue gone after a day
    daily_life_reps: Annotated[int, Range(0, 1000)] = 40  # spontaneous reaches a day, full use
    use_threshold: Annotated[float, Range(0, 100)] = 40.0  # score of half of full daily use
    use_width: Annotated[float, Range(0.01, 100)] = 5.0  # score points over which use rises
    disuse_decay: Fraction = 0.02  # daily weakening of output synapses at zero use
    nthread: Annotated[int, Range(1, 64)] | None = None
    #: where the cortex steps during reaches: None steps it in numpy on the CPU (the fastest
    #: there); a torch device ("cpu", "cuda", "cuda:1") steps it with torch on that device,
    #: the arm staying MuJoCo on the CPU and plasticity on the CPU (numbers equal to float
    #: rounding: a different order of the same sums)
    device: str | None = None
    #: the arm's physics step (s): None keeps the checkpoint's (5 ms, two steps per 10 ms
    #: control period); 0.01 is one step per period (measured in docs/results/benchmarks.md)
    arm_timestep: Annotated[float, Range(0.0005, 0.01)] | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        if self.device is not None:
            check_device(self.device)
        if self.arm_timestep is not None:
            steps = 0.01 / self.arm_timestep
            if abs(steps - round(steps)) > 1e-9:
                raise ConfigError(f"arm_timestep: {self.arm_timestep} does not divide the 10 ms "
                                  "control period; allowed: 0.01 / k for a whole k (0.01, "
                                  "0.005, 0.0025, ...) or null")
        lo, hi = self.score_window
        if not lo < hi <= self.duration:
            raise ConfigError(f"score_window: need low < high <= duration ({self.duration} s), "
                              f"got {self.score_window}")


def check_device(name: str) -> torch.device:
    """The torch device `name`, or a `ConfigError` naming the field when it is not one this
    process can use."""
    allowed = "None (numpy on the CPU), 'cpu', 'cuda', 'cuda:<index>'"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device: {name!r} is not a torch device; allowed: {allowed}") from None
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device: {name!r} is not supported; allowed: {allowed}")
    if device.type == "cuda" and (not torch.cuda.is_available() or (
            device.index is not None and device.index >= torch.cuda.device_count())):
        raise ConfigError(f"device: {name!r} but torch sees {torch.cuda.device_count()} CUDA "
                          f"device(s) here; allowed here: None, 'cpu'"
                          + "".join(f", 'cuda:{i}'" for i in range(torch.cuda.device_count())))
    return device
