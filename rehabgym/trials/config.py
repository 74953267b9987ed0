"""`TrialConfig`: every default of a virtual clinical trial (`rehabgym trial`).

A trial enrols `patients_per_arm` × arms patients from the environment's cohort, screens each
one's acute motor score on the day of the stroke, randomises them to the arms in permuted
blocks within strata of that score, treats each with its arm's therapist for the environment's
horizon, and compares every arm with the control arm on the primary outcome, adjusted for the
score at the start of therapy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Literal

from rehabgym.config import (
    ConfigError,
    Count,
    NonNegativeInt,
    Positive,
    Range,
    check_fields,
)
from rehabgym.envs.actions import action_space
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.therapists import check_spec

#: outcomes a trial can report (per patient)
OUTCOMES = ("final_score", "gain", "recovery_fraction", "dose", "return")
Outcome = Literal["final_score", "gain", "recovery_fraction", "dose", "return"]
ENV_IDS = ("rehabgym/Therapy-v2", "rehabgym/TherapyBiomarkers-v2")


@dataclass
class TrialArm:
    """One arm: its name in the report and its therapist's spec (a heuristic's name, a fixed
    schedule as a heuristic with level arguments, e.g. `round_robin(distance=1, assistance=0,
    reps=2)`, or `<algorithm>:<model.zip>` for a Stable-Baselines3 model)."""

    name: str
    therapist: str

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.name.strip():
            raise ConfigError("name: an arm needs a non-empty name")

    @property
    def model_path(self) -> Path | None:
        """The model file of an SB3 arm (None for a heuristic)."""
        return Path(self.therapist.split(":", 1)[1]) if ":" in self.therapist else None


def _default_arms() -> tuple[TrialArm, ...]:
    return (TrialArm("no_therapy", "no_therapy"), TrialArm("round_robin", "round_robin"),
            TrialArm("worst_first", "worst_first"), TrialArm("adaptive", "adaptive"))


@dataclass
class Randomisation:
    """Stratified permuted-block randomisation (the usual design of rehabilitation trials).

    Patients are screened on the day of the stroke (the acute motor score, as a stroke unit
    scores severity at admission) and randomised in enrolment order: within each stratum of
    that score, consecutive patients fill permuted blocks of `block_arms` × arms places (each
    arm `block_arms` times, in a seeded random order), so the arms stay balanced within every
    stratum. Arm sizes differ by at most the unfilled part of each stratum's last block.
    """

    seed: NonNegativeInt = 0
    stratify: bool = True
    #: acute-score cut-offs between strata (default: severe < 40 <= moderate < 70 <= mild)
    strata: tuple[Annotated[float, Range(0, 100)], ...] = (40.0, 70.0)
    block_arms: Count = 2

    def __post_init__(self) -> None:
        check_fields(self)
        if list(self.strata) != sorted(set(self.strata)):
            raise ConfigError(f"strata: cut-offs must increase strictly, got {self.strata!r}")


@dataclass
class TrialConfig:
    """Every default of `rehabgym trial`; YAML (`configs/trial/*.yaml`) overrides it.

    Attributes:
        name: the trial's name in its report.
        arms: the arms (names unique); `control` names the one every other is compared with.
        patients_per_arm: enrolment is `patients_per_arm` × arms patients.
        first_seed: patient i of the enrolment is the environment's patient of seed
            `first_seed + i` (default: away from training's and evaluation's seeds).
        randomisation: how patients are assigned to arms.
        env_id, env: the environment the patients are treated in (cohort, horizon, levels).
        primary: the primary outcome; every arm against the control by ANCOVA on the score at
            the start of therapy. `secondary`: reported the same way, without a claim.
        mcid: the minimal clinically important gain (score points) that makes a responder:
            10 points of the 100-point score, 6.6 of the Fugl-Meyer upper-extremity scale's 66,
            within the 4.25-7.25 Page, Fulk & Boyne (2012) estimate in chronic stroke and below
            the 9-10 of Arya et al. (2011) in subacute stroke.
        target_difference: the primary difference (outcome units) a follow-up trial should
            detect; its sample size is estimated from this trial's residual variance.
        power: of that follow-up trial (two-sided, alpha 0.05).
        chunk_patients: patients a worker simulates together (one result file each); about
            9-10 MB each at the peak of a day (`rehabgym bench memory`), plus ~0.3 GB a worker.
        sample: model arms sample their policy (seeded per patient) instead of its argmax.
    """

    name: str = "trial"
    arms: tuple[TrialArm, ...] = field(default_factory=_default_arms)
    control: str = "no_therapy"
    patients_per_arm: Count = 32
    first_seed: NonNegativeInt = 2_000_000
    randomisation: Randomisation = field(default_factory=Randomisation)
    env_id: Literal["rehabgym/Therapy-v2", "rehabgym/TherapyBiomarkers-v2"] = ENV_IDS[0]
    env: TherapyEnvConfig = field(default_factory=TherapyEnvConfig)
    primary: Outcome = "final_score"
    secondary: tuple[Outcome, ...] = ("gain", "recovery_fraction", "dose", "return")
    mcid: Positive = 10.0
    target_difference: Positive = 3.0
    power: Annotated[float, Range(0.5, 0.99)] = 0.8
    chunk_patients: Annotated[int, Range(1, 1024)] = 32
    sample: bool = False

    def __post_init__(self) -> None:
        check_fields(self)
        names = [arm.name for arm in self.arms]
        if len(names) < 2:
            raise ConfigError(f"arms: a trial needs at least two arms, got {names}")
        if len(set(names)) != len(names):
            raise ConfigError(f"arms: names must be unique, got {names}")
        if self.control not in names:
            raise ConfigError(f"control: {self.control!r} is not one of the arms {names}")
        # the therapists see the action space as `rehabgym evaluate` gives it
        self.env = replace(self.env, action_type="multidiscrete")
        space = action_space(self.env)
        for k, arm in enumerate(self.arms):
            try:
                check_spec(arm.therapist, space)
            except (ConfigError, ValueError) as exc:
                raise ConfigError(f"arms[{k}].therapist: {exc}") from exc

    @property
    def n_patients(self) -> int:
        return self.patients_per_arm * len(self.arms)

    @property
    def arm_names(self) -> list[str]:
        return [arm.name for arm in self.arms]
