"""Patient files: a batch's full state, as data only, written to disk and read back.

The state (`PatientBatch.get_state`) holds weights, masks, the clock and every random stream's
state, so a loaded batch continues exactly as the saved one would have. A file holds tensors,
numbers, strings, lists and dicts only (numpy arrays and assessments are stored as tensors and
dicts) and is read with `torch.load(weights_only=True)`: loading a file runs no code from it,
whoever made it. Files carry their kind and a format version.
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rehabgym.atomic import atomic_path
from rehabgym.patient.assessment import Assessment

KIND = "rehabgym.patient"
VERSION = 1
#: numpy arrays of the state, stored as tensors
ARRAYS = ("day", "dose", "fatigue", "use", "baseline", "last_rates")


def _assessment_data(a: Assessment) -> dict[str, Any]:
    return {f.name: torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v
            for f in dataclasses.fields(a) for v in [getattr(a, f.name)]}


def _assessment(data: dict[str, Any]) -> Assessment:
    return Assessment(**{k: v.numpy() if isinstance(v, torch.Tensor) else v
                         for k, v in data.items()})


def state_data(state: dict[str, Any]) -> dict[str, Any]:
    """A batch's state (`PatientBatch.get_state`) as what `torch.load(weights_only=True)` reads
    back: tensors, numbers, strings, lists and dicts."""
    return {**{k: v for k, v in state.items() if k not in ARRAYS and k != "last"},
            **{k: torch.from_numpy(np.array(state[k])) for k in ARRAYS},
            "last": [_assessment_data(a) for a in state["last"]]}


def data_state(data: dict[str, Any]) -> dict[str, Any]:
    """The batch state `state_data` made data of, back."""
    state = dict(data)
    for k in ARRAYS:
        state[k] = state[k].numpy()
    state["last"] = [_assessment(a) for a in state["last"]]
    return state


def write_state(state: dict[str, Any], path: str | Path) -> None:
    """Write `state` to `path` as data, atomically (a kill leaves the previous file)."""
    data = {"kind": KIND, "version": VERSION, **state_data(state)}
    with atomic_path(path) as tmp:
        torch.save(data, tmp)


def read_state(path: str | Path) -> dict[str, Any]:
    """The state saved in `path`. A missing file, a file that holds anything but data, or a
    file of another kind or version is an error naming the file and what was expected."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"patient file not found: {path}")
    expected = f"a {KIND} file of version {VERSION} (saved by PatientBatch.save)"
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        why = next((ln.strip() for ln in str(exc).splitlines()
                    if "nsupported" in ln or "GLOBAL" in ln), None)
        if why is None:
            raise ValueError(f"{path}: not {expected}; it cannot be read (truncated or damaged?"
                             f" {type(exc).__name__}: {str(exc).strip()[:200]})") from exc
        raise ValueError(f"{path}: not {expected}; it holds more than data, and nothing in it "
                         f"was run ({why})") from exc
    if not isinstance(data, dict) or data.get("kind") != KIND:
        what = (f"kind {data['kind']!r}" if isinstance(data, dict) and "kind" in data else
                f"keys {sorted(data)[:6]}" if isinstance(data, dict) else type(data).__name__)
        raise ValueError(f"{path}: not {expected}; it holds {what}")
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: version {data.get('version')!r}, expected {expected}")
    return data_state({k: v for k, v in data.items() if k not in ("kind", "version")})
