"""Patient files: a batch's full state written to disk and read back.

The state (`PatientBatch.get_state`) holds weights, masks, the clock and every random stream's
state, so a loaded batch continues exactly as the saved one would have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def write_state(state: dict[str, Any], path: str | Path) -> None:
    """Write `state` to `path` (its folder is created)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)


def read_state(path: str | Path) -> dict[str, Any]:
    """The state saved in `path`; a missing file is a FileNotFoundError naming it."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"patient file not found: {path}")
    return torch.load(path, weights_only=False)
