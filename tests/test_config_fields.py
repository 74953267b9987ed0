"""Every field of every config dataclass is checked when the config is built: an invalid value
(wrong type, NaN, inf, out of its range) is refused naming the field (its dotted path from
YAML), and random valid patient configs simulate a therapy day with finite results."""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from typing import Annotated, Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import rehabgym  # noqa: F401  (registers the environments)
from rehabgym.arm import ArmConfig
from rehabgym.config import ConfigError, Range, from_dict
from rehabgym.cortex import CortexConfig, SheetConfig
from rehabgym.cortex.lesion import Lesion
from rehabgym.cortex.plasticity import PlasticityConfig
from rehabgym.envs.config import TherapyEnvConfig, resolve_config
from rehabgym.evaluation.schedules import SchedulesConfig
from rehabgym.healthy.demo import DemoConfig
from rehabgym.healthy.pretrain import PretrainConfig
from rehabgym.patient import CohortConfig, PatientConfig
from rehabgym.phenomena import ValidateConfig
from rehabgym.reaching import ReachConfig
from rehabgym.training import TrainConfig
from rehabgym.tuning import TuneConfig

CONFIGS = (ArmConfig, SheetConfig, CortexConfig, ReachConfig, PlasticityConfig, PatientConfig,
           CohortConfig, Lesion, TherapyEnvConfig, TrainConfig, ValidateConfig, PretrainConfig,
           DemoConfig, SchedulesConfig, TuneConfig)


def _number(tp: Any) -> tuple[type, Range | None] | None:
    """(float or int, its Range) for a numeric annotation, else None."""
    ranges = [a for a in typing.get_args(tp)[1:] if isinstance(a, Range)]
    if typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    if tp in (int, float):
        return tp, ranges[0] if ranges else None
    return None


def _invalid(kind: type, allowed: Range | None) -> list[Any]:
    """Values a field of this kind and range must refuse."""
    bad: list[Any] = ["x", None, float("nan"), float("inf"), -float("inf")]
    if kind is int:
        bad.append(1.5)
    if allowed is not None:
        if allowed.low is not None:
            bad.append(allowed.low if allowed.low_open else allowed.low - 1)
        if allowed.high is not None:
            bad.append(allowed.high if allowed.high_open else allowed.high + 1)
    return bad


CASES = [(cls, f.name, value)
         for cls in CONFIGS
         for f in dataclasses.fields(cls)
         if (num := _number(typing.get_type_hints(cls, include_extras=True)[f.name]))
         and typing.get_origin(typing.get_type_hints(cls)[f.name]) is not typing.Union
         for value in _invalid(*num)]


@pytest.mark.parametrize(("cls", "name", "value"), CASES,
                         ids=[f"{c.__name__}.{n}={v!r}" for c, n, v in CASES])
def test_an_invalid_value_is_refused_at_construction_naming_the_field(cls, name, value) -> None:
    with pytest.raises(ConfigError, match=rf"^{name}\b"):
        cls(**{name: value})
    with pytest.raises(ConfigError, match=rf"^{name}\b"):
        from_dict(cls, {name: value})


def test_every_config_has_numeric_fields_checked() -> None:
    assert {c for c, _, _ in CASES} == set(CONFIGS) - {CohortConfig}  # its fields are pairs
    assert len(CASES) > 400


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.sampled_from([(c, n) for c, n, _ in CASES if c in (PatientConfig, PlasticityConfig)]),
       st.floats(allow_nan=True, allow_infinity=True))
def test_a_nested_value_is_named_by_its_dotted_path(case, value) -> None:
    cls, name = case
    kind, allowed = _number(typing.get_type_hints(cls, include_extras=True)[name])
    ok = math.isfinite(value) and (allowed is None or value in allowed) and (
        kind is float or value == int(value))
    path = {"patient": {name: value}} if cls is PatientConfig else {
        "patient": {"plasticity": {name: value}}}
    dotted = "patient." + ("" if cls is PatientConfig else "plasticity.") + name
    if ok:
        return  # a valid value (a combination may still be refused, by another name)
    with pytest.raises(ConfigError, match="^" + re.escape(dotted) + r"\b"):
        from_dict(TherapyEnvConfig, path)


def test_issue_examples_fail_at_construction_naming_the_field() -> None:
    for kwargs, name in [({"patient": {"daily_life_reps": -5}}, "patient.daily_life_reps"),
                         ({"patient": {"use_width": 0}}, "patient.use_width"),
                         ({"patient": {"plasticity": {"learning_rate": math.inf}}},
                          "patient.plasticity.learning_rate"),
                         ({"distances": [0.5]}, r"distances\[0\]"),
                         ({"repetition_levels": [1000000]}, "repetition_levels"),
                         ({"start_day": 10000000}, "start_day")]:
        with pytest.raises(ConfigError, match=name):
            gym.make("rehabgym/Therapy-v2", config=kwargs)


def _sane(kind: type, allowed: Range | None, default: Any) -> st.SearchStrategy:
    """Valid values near the default (a therapy day of any of them stays quick)."""
    lo = allowed.low if allowed is not None and allowed.low is not None else 0
    hi = allowed.high if allowed is not None and allowed.high is not None else None
    top = max(2 * default, lo + 1) if hi is None else min(hi, max(2 * default, lo + 1))
    if kind is int:
        return st.integers(int(math.ceil(lo)), int(top))
    return st.floats(lo, top, exclude_min=bool(allowed and allowed.low_open),
                     exclude_max=bool(allowed and allowed.high_open and top == hi))


def _config_strategy(cls: type, skip: set[str]) -> st.SearchStrategy:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {}
    for f in dataclasses.fields(cls):
        num = _number(hints[f.name])
        if f.name in skip:
            continue
        if num is not None:
            fields[f.name] = _sane(*num, f.default)
        elif hints[f.name] is bool:
            fields[f.name] = st.booleans()
    return st.fixed_dictionaries({}, optional=fields)


@settings(max_examples=8, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(_config_strategy(PatientConfig, {"assessment_seed", "max_repetitions", "n_directions"}),
       _config_strategy(PlasticityConfig, set()))
def test_random_valid_configs_simulate_a_day_with_finite_results(patient, plasticity) -> None:
    try:
        cfg = TherapyEnvConfig(horizon_days=1, start_day=1, repetition_levels=(8,),
                               patient=PatientConfig(plasticity=PlasticityConfig(**plasticity),
                                                     **patient))
    except ConfigError:
        reject()  # a combination of valid fields that is refused (e.g. the score window)
    env = gym.make("rehabgym/Therapy-v2", config=cfg)
    obs, _ = env.reset(seed=0)
    obs, reward, _, truncated, info = env.step(np.array([0, 1, 1, 0]))
    assert np.isfinite(obs).all() and obs in env.observation_space
    assert math.isfinite(reward) and 0.0 <= info["score"] <= 100.0 and truncated
    env.close()


def test_an_override_is_checked_against_the_config_it_overrides() -> None:
    base = {"patient": {"max_repetitions": 1000}}
    assert resolve_config(base, repetition_levels=(800,)).repetition_levels == (800,)
    with pytest.raises(ConfigError, match="repetition_levels"):
        resolve_config(None, repetition_levels=(800,))
    with pytest.raises(ConfigError, match="horizn_days"):
        resolve_config(None, horizn_days=3)
