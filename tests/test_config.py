"""The strict YAML/dataclass configuration loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rehabgym.arm import ArmConfig
from rehabgym.config import ConfigError, load_config, save_config


@dataclass
class Inner:
    rate: float = 1.0
    names: tuple[str, ...] = ("a",)


@dataclass
class Outer:
    count: int = 2
    flag: bool = False
    inner: Inner = field(default_factory=Inner)
    label: str | None = None


def test_defaults_and_overrides() -> None:
    assert load_config(Outer) == Outer()
    cfg = load_config(Outer, {"count": 5, "inner": {"rate": 3}, "label": "x"})
    assert cfg.count == 5 and cfg.inner.rate == 3.0 and isinstance(cfg.inner.rate, float)
    assert cfg.inner.names == ("a",) and cfg.label == "x"


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match="cuont"):
        load_config(Outer, {"cuont": 3})
    with pytest.raises(ConfigError, match=r"inner\.rat"):
        load_config(Outer, {"inner": {"rat": 3}})


@pytest.mark.parametrize(
    "data,name",
    [({"count": "3"}, "count"), ({"count": 2.5}, "count"), ({"flag": 1}, "flag"),
     ({"inner": {"rate": "fast"}}, "inner.rate"), ({"inner": 3}, "inner"),
     ({"inner": {"names": "abc"}}, "inner.names")],
)
def test_wrong_type_names_field(data: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
        load_config(Outer, data)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(Outer, tmp_path / "nope.yaml")


def test_yaml_round_trip(tmp_path: Path) -> None:
    cfg = Outer(count=7, inner=Inner(rate=0.5, names=("x", "y")))
    save_config(cfg, tmp_path / "c.yaml")
    assert load_config(Outer, tmp_path / "c.yaml") == cfg
    save_config(ArmConfig(), tmp_path / "arm.yaml")
    assert load_config(ArmConfig, tmp_path / "arm.yaml") == ArmConfig()


def test_dataclass_validation_becomes_config_error() -> None:
    with pytest.raises(ConfigError, match="timestep"):
        load_config(ArmConfig, {"timestep": -1.0})
