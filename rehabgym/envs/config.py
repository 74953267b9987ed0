"""`TherapyEnvConfig`: every default of the therapist environments, and how overrides apply."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from rehabgym.config import (
    ConfigError,
    Fraction,
    NonNegative,
    Positive,
    Range,
    check_fields,
    check_value,
    load_config,
)
from rehabgym.patient import N_DIRECTIONS, CohortConfig, PatientConfig
from rehabgym.patient.plan import DISTANCES

#: days: an episode's horizon and the start of therapy after the stroke (within a year)
DAYS = Range(0, 365)
#: the default difficulty levels of an action (validate's rows 11 and 12 use them too)
DEFAULT_DISTANCES = (0.06, 0.10, 0.14)
DEFAULT_ASSISTANCE = (0.0, 0.25, 0.5, 1.0)


@dataclass
class TherapyEnvConfig:
    """Every default of the therapist environments (one source of truth).

    Attributes:
        horizon_days: therapy days per episode (the episode is truncated after them).
        start_day: days after the stroke when therapy begins; reset rests the patient until then.
        cohort: the lesion distribution new patients are drawn from: a preset name
            ("mild", "moderate", "severe", "mixed") or a full `CohortConfig`.
        cost_per_rep: reward cost of one practice repetition (score points per repetition).
        distances: reach distances (m) the action can choose from.
        assistance_levels: assistance levels in [0, 1] the action can choose from.
        repetition_levels: repetitions per session the action can choose from.
        precision_levels: success thresholds on the reach score (`SessionPlan.precision`: a
            higher one is a smaller target, Fitts 1954) a fifth action entry chooses from, in
            increasing order; empty (the default, v0-v2): no such entry, every session uses
            the patient's own threshold (`plasticity.success_threshold`, 0.7).
        dose_scale: repetitions that map to 1.0 in the "dose so far" observation
            (default: horizon_days × the largest repetition level, when 0).
        fatigue_scale: fatigue that maps to 1.0 in the observation (clipped to [0, 1]).
        biomarkers: add normalised neural biomarkers to the observation.
        action_type: "multidiscrete" (PPO, A2C) or "discrete" (one flat index, for DQN).
        all_directions: add a tenth value to the direction entry: a session whose repetitions
            go to all 8 directions in turn (the center-out protocol of robot-aided therapy).
        patient: every default of the simulated patients.
    """

    horizon_days: Annotated[int, Range(1, 365)] = 30
    start_day: Annotated[int, DAYS] = 5
    cohort: str | CohortConfig = "mixed"
    cost_per_rep: NonNegative = 0.002
    distances: tuple[Annotated[float, DISTANCES], ...] = DEFAULT_DISTANCES
    assistance_levels: tuple[Fraction, ...] = DEFAULT_ASSISTANCE
    repetition_levels: tuple[Annotated[int, Range(1)], ...] = (15, 30, 60, 120)
    precision_levels: tuple[Annotated[float, Range(0.01, 0.99)], ...] = ()
    dose_scale: NonNegative = 0.0
    fatigue_scale: Positive = 1.0
    biomarkers: bool = False
    action_type: Literal["multidiscrete", "discrete"] = "multidiscrete"
    all_directions: bool = False
    patient: PatientConfig = field(default_factory=PatientConfig)

    def __post_init__(self) -> None:
        check_fields(self)
        if isinstance(self.cohort, str):
            self.cohort_config()  # an unknown preset fails here, naming the allowed ones
        for name in ("distances", "assistance_levels", "repetition_levels"):
            if len(getattr(self, name)) < 1:
                raise ConfigError(f"{name}: needs at least one level, got {getattr(self, name)!r}")
        if any(b <= a for a, b in zip(self.precision_levels, self.precision_levels[1:])):
            raise ConfigError(f"precision_levels: must increase (easiest first), got "
                              f"{self.precision_levels!r}")
        if self.patient.n_directions != N_DIRECTIONS:
            raise ConfigError(f"patient.n_directions: the environments' actions and observations "
                              f"have {N_DIRECTIONS} directions, got {self.patient.n_directions}")
        most = self.patient.max_repetitions
        if max(self.repetition_levels) > most:
            raise ConfigError(f"repetition_levels: each must be <= patient.max_repetitions "
                              f"({most}), got {self.repetition_levels!r}")

    def cohort_config(self) -> CohortConfig:
        """The lesion distribution as a `CohortConfig` (a preset name resolved)."""
        if isinstance(self.cohort, CohortConfig):
            return self.cohort
        return CohortConfig.preset(self.cohort)  # an unknown name: the error names the allowed

    @property
    def dose_norm(self) -> float:
        """Repetitions that map to 1.0 in the observation."""
        return self.dose_scale or float(self.horizon_days * max(self.repetition_levels))


def resolve_config(
    config: TherapyEnvConfig | str | Path | dict[str, Any] | None = None, **overrides: Any
) -> TherapyEnvConfig:
    """A `TherapyEnvConfig` from defaults, a YAML file or dict, then keyword overrides.

    Overrides that are None keep the value below them; unknown keys anywhere are a
    `ConfigError` that names them.
    """
    base = config if isinstance(config, TherapyEnvConfig) else load_config(TherapyEnvConfig,
                                                                           config)
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return base
    hints = typing.get_type_hints(TherapyEnvConfig)
    unknown = sorted(set(given) - set(hints))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in TherapyEnvConfig; allowed: "
                          f"{sorted(hints)}")
    # each override checked on its own; the combination with the base config when it is built
    checked = {k: check_value(k, hints[k], v) for k, v in given.items()}
    return dataclasses.replace(base, **checked)
