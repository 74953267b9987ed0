"""Tuned-parameter files: a heuristic's constructor arguments found by `rehabgym tune`.

A tuned file is data: `therapist: adaptive` and `params: {target: 0.6, ...}` (with how they
were found beside them); the spec `adaptive(params='tuned.yaml')` builds the heuristic with
them, any argument given in the spec overriding the file's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rehabgym.config import ConfigError, load_yaml


def load_tuned(path: str | Path, therapist: str) -> dict[str, Any]:
    """The parameters of a tuned file for `therapist`; a ConfigError when the file is missing,
    malformed or tuned for another therapist (naming both)."""
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        raise ConfigError(f"params: {path} is not a tuned-parameter file (expected the keys "
                          f"'therapist' and 'params')")
    if data.get("therapist") != therapist:
        raise ConfigError(f"params: {path} holds parameters of {data.get('therapist')!r}, not "
                          f"of {therapist!r}")
    return dict(data["params"])
