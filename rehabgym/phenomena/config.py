"""`ValidateConfig`: every default of the validation cohort and its experiments."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated

from rehabgym.config import (
    ConfigError,
    Count,
    Fraction,
    NonNegative,
    NonNegativeInt,
    Range,
    check_fields,
)
from rehabgym.envs.config import DAYS, DEFAULT_ASSISTANCE, DEFAULT_DISTANCES
from rehabgym.patient import N_DIRECTIONS, CohortConfig, PatientConfig
from rehabgym.patient.plan import DISTANCES

#: half the premotor strip's width on the default sheet (3 mm wide, its rostral third
#: premotor): a site lesion's radius plus penumbra must fit in it to stay inside its area
SITE_REACH = 0.5


@dataclass
class ValidateConfig:
    """Every default of the validation cohort and its experiments."""

    n_patients: Count = 48
    seed: NonNegativeInt = 0
    days: Annotated[int, Range(1, 365)] = 60  # natural history
    #: one stroke unit's admissions, mild to severe: focal M1 strokes from small to large
    #: and from intact to half-cut corticospinal tracts
    cohort: CohortConfig = field(default_factory=lambda: CohortConfig(
        focal_radius=(0.05, 0.75), corticospinal_fraction=(0.0, 0.5)))
    #: row 1's site part: pairs of lesions of one radius, one in the middle of premotor
    #: cortex and one in the middle of M1, core and penumbra inside their area (radius +
    #: penumbra at most half the premotor strip's width, 0.5 mm), measured on day 0
    site_pairs: Count = 16
    site_radius: tuple[NonNegative, NonNegative] = (0.2, 0.4)
    site_penumbra: NonNegative = 0.1
    #: the most moderate patients of the cohort, in the therapy experiment (rows 4-6); 10
    #: before issue 27's last re-measurement (CIs about √2 wider; docs/results/phenomena.md)
    therapy_patients: Count = 20
    early_start: Annotated[int, DAYS] = 5
    late_start: Annotated[int, DAYS] = 30
    therapy_days: Annotated[int, Range(1, 365)] = 10
    reps: Count = 60
    doses: tuple[Count, ...] = (30, 60, 120)
    trained_direction: Annotated[int, Range(0, N_DIRECTIONS - 1)] = 0
    row10_patients: Count = 16  # held-out patients for the scripted-schedule comparison
    row10_days: Annotated[int, Range(1, 365)] = 10
    #: row 7: the whole cohort practises from this day for `therapy_days`, then is followed for
    #: `followup_days` without therapy (default: the early start, as in Han et al. 2008)
    threshold_start: Annotated[int, DAYS] = 5
    followup_days: Annotated[int, Range(1, 365)] = 25
    #: rows 11-12: patients of each of the mild and severe cohorts, practising the early dose
    #: at every distance x assistance (the environments' levels), a few levels per batch
    challenge_patients: Count = 10
    challenge_distances: tuple[Annotated[float, DISTANCES], ...] = DEFAULT_DISTANCES
    challenge_assistance: tuple[Fraction, ...] = DEFAULT_ASSISTANCE
    #: the reach score a success needs (`SessionPlan.precision`): 0.7 is the default
    #: threshold, 0.9 a target a third as wide (the hand within 10 % of the distance)
    challenge_precision: tuple[Annotated[float, Range(0.01, 0.99)], ...] = (0.7, 0.9)
    challenge_chunk: Annotated[int, Range(1, 1000)] = 4
    patient: PatientConfig = field(default_factory=PatientConfig)
    #: the rows to measure (None: every registered row): only their experiments run, and a
    #: later run with more rows in the same folder continues from the experiments done
    rows: tuple[Count, ...] | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("challenge_distances", "challenge_assistance", "challenge_precision"):
            if len(getattr(self, name)) < 1:
                raise ConfigError(f"{name}: needs at least one level, got {getattr(self, name)!r}")
        lo, hi = self.site_radius
        if not 0 < lo <= hi or hi + self.site_penumbra > SITE_REACH:
            raise ConfigError(f"site_radius, site_penumbra: need 0 < low <= high and high + "
                              f"penumbra <= {SITE_REACH} mm (the lesion inside one area), got "
                              f"{self.site_radius} and {self.site_penumbra}")
        most = self.patient.max_repetitions
        if max(self.reps, *self.doses) > most:
            raise ConfigError(f"reps, doses: each must be <= patient.max_repetitions ({most}), "
                              f"got {self.reps} and {self.doses}")

    @property
    def early(self) -> tuple[int, int]:
        """The early therapy arm's first day and the day it has ended."""
        return self.early_start, self.early_start + self.therapy_days

    @property
    def late(self) -> tuple[int, int]:
        """The late therapy arm's first day and the day it has ended."""
        return self.late_start, self.late_start + self.therapy_days

    @property
    def threshold_therapy(self) -> tuple[int, int]:
        """Row 7's therapy: first day and the day it has ended."""
        return self.threshold_start, self.threshold_start + self.therapy_days

    @classmethod
    def quick(cls, base: ValidateConfig | None = None) -> ValidateConfig:
        """A small version of `base` (default: the defaults), a few minutes, for tests and a
        first look: fewer patients and days, the same patient and plasticity."""
        return replace(base or cls(), n_patients=12, days=20, site_pairs=6,
                       therapy_patients=4, early_start=3, late_start=10, therapy_days=4,
                       row10_patients=4, row10_days=3, threshold_start=3, followup_days=7,
                       challenge_patients=3, challenge_distances=(0.10,),
                       challenge_assistance=(0.0, 0.25, 1.0))
