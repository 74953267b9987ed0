"""Typed configuration: dataclasses hold every default, YAML overrides them strictly.

`load_config(Cls, path_or_dict)` builds a (nested) dataclass from plain data. Unknown keys and
values of the wrong type are errors that name the field, the value and what is allowed, so a
typo in a YAML file fails at start instead of being silently ignored.

Every config dataclass checks its own fields when it is built (`check_fields` in its
`__post_init__`): the type from the annotation, finiteness of every number, and the allowed
interval where the annotation carries a `Range` (`Positive`, `Fraction`, ... or
`Annotated[float, Range(0.02, 0.2)]`). Built from YAML, an error names the field by its full
dotted path (`patient.plasticity.learning_rate`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import types
import typing
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import yaml

from rehabgym.atomic import write_text

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value or key is not allowed."""


@dataclasses.dataclass(frozen=True)
class Range:
    """The interval a number must lie in (None: unbounded; `*_open` excludes the bound)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        lo, hi = self.low, self.high
        return ((lo is None or (value > lo if self.low_open else value >= lo))
                and (hi is None or (value < hi if self.high_open else value <= hi)))

    def __str__(self) -> str:
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            return (f"in {'(' if self.low_open else '['}{lo:g}, {hi:g}"
                    f"{')' if self.high_open else ']'}")
        if lo is not None:
            return f"{'>' if self.low_open else '>='} {lo:g}"
        return f"{'<' if self.high_open else '<='} {hi:g}"


Positive = Annotated[float, Range(0, low_open=True)]
NonNegative = Annotated[float, Range(0)]
Fraction = Annotated[float, Range(0, 1)]
OpenFraction = Annotated[float, Range(0, 1, low_open=True, high_open=True)]  # in (0, 1)
Count = Annotated[int, Range(1)]  # an integer >= 1
NonNegativeInt = Annotated[int, Range(0)]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def check_fields(obj: Any) -> None:
    """Check every init field of dataclass `obj` against its annotation (type, finiteness,
    `Range`), converting as `from_dict` does (a list to a tuple, an integer to a float).
    Raises a `ConfigError` that names the field, the value and what is allowed."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        if f.init:
            value = _check_value(f.name, hints[f.name], getattr(obj, f.name))
            object.__setattr__(obj, f.name, value)


def check_value(name: str, tp: Any, value: Any) -> Any:
    """`value` checked against the annotation `tp` (converted as `from_dict` converts it); a
    `ConfigError` naming `name`, the value and what is allowed."""
    return _check_value(name, tp, value)


def _check_value(name: str, tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Annotated:
        value = _check_value(name, args[0], value)
        for allowed in args[1:]:
            if isinstance(allowed, Range) and value not in allowed:
                raise ConfigError(f"{name}: must be {allowed}, got {value!r}")
        return value
    if origin is typing.Union or origin is types.UnionType:
        errors = []
        for arg in args:
            try:
                return _check_value(name, arg, value)
            except ConfigError as exc:
                if arg is not type(None):
                    errors.append(str(exc))
        null = " (or null)" if type(None) in args else ""
        deeper = [e for e in errors if not e.startswith(f"{name}: ")]
        if len(errors) == 1 or (isinstance(value, dict) and deeper):
            raise ConfigError((deeper or errors)[0] + null)  # a mapping's own error, its path
        raise ConfigError(" or ".join(errors) + null)
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{name}: expected null, got {value!r}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(f"{name}: {value!r} is not one of {list(args)}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, prefix=f"{name}.")
    if origin in (tuple, list):
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{name}: expected {len(args)} items, got {len(value)}")
            pairs = enumerate(zip(args, value))
            items = [_check_value(f"{name}[{i}]", a, v) for i, (a, v) in pairs]
        else:
            item_tp = args[0] if args else Any
            items = [_check_value(f"{name}[{i}]", item_tp, v) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{name}: must be a finite number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        return int(value)
    if tp is bool:
        if isinstance(value, np.bool_):
            value = bool(value)
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected true/false, got {value!r}")
        return value
    if tp is str:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise ConfigError(f"{name}: expected a string, got {value!r}")
        return value
    return value


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass `cls` from `data`, recursing into nested dataclasses.

    Missing keys keep their defaults; unknown keys raise a `ConfigError` naming them.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or cls.__name__}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {[prefix + k for k in unknown]} in {cls.__name__}; "
            f"allowed: {sorted(fields)}"
        )
    kwargs = {k: _check_value(prefix + k, hints[k], v) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        # a dataclass's own check names its field: prefix it with the path to the dataclass
        raise ConfigError(f"{prefix}{exc}" if prefix else str(exc)) from exc


def to_dict(obj: Any) -> Any:
    """Plain-data (YAML-safe) view of a dataclass tree."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with `yaml.safe_load`; a missing file is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    return data


def load_config(cls: type[T], source: str | Path | dict[str, Any] | None = None) -> T:
    """Defaults of `cls`, overridden by a YAML file or a dict (None keeps the defaults)."""
    if source is None:
        return cls()
    data = source if isinstance(source, dict) else load_yaml(source)
    return from_dict(cls, data)


def save_config(obj: Any, path: str | Path) -> None:
    """Write the resolved config as YAML (what a run really used)."""
    write_text(path, yaml.safe_dump(to_dict(obj), sort_keys=False))
