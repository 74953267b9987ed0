"""The healthy cortex checkpoint: weights, masks and configs of the pre-stroke network.

The package ships them in `rehabgym/assets/` (made by `rehabgym pretrain`): `healthy_cortex.pt`,
the default every patient starts from as a lesioned copy, and `healthy_cortex_rate_cost.pt`, the
cortex with a metabolic cost on its rates (configs/pretrain_rate_cost.yaml) that the calibrated
candidate patient uses. A checkpoint is named by a path or by a shipped file's bare name.
Checkpoints hold tensors and plain values only and load with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import torch

from rehabgym.arm import ArmConfig
from rehabgym.atomic import atomic_path
from rehabgym.config import from_dict, to_dict
from rehabgym.cortex.network import Cortex, CortexConfig

CHECKPOINT_NAME = "healthy_cortex.pt"
SHIPPED = (CHECKPOINT_NAME, "healthy_cortex_rate_cost.pt")


def save_checkpoint(cortex: Cortex, arm_config: ArmConfig, path: Path) -> None:
    """Save the cortex (weights, masks, config) and the arm config it was trained with."""
    state = {k: v.detach().cpu().clone() for k, v in cortex.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"cortex_config": to_dict(cortex.config), "arm_config": to_dict(arm_config),
                    "n_inputs": cortex.n_inputs, "state_dict": state}, tmp)


KEYS = ("cortex_config", "arm_config", "n_inputs", "state_dict")


def _read(path: Path) -> dict:
    """A checkpoint's data (tensors and plain values only: nothing in the file is run)."""
    expected = f"a cortex checkpoint (keys {list(KEYS)}, saved by rehabgym pretrain)"
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not {expected}; it holds more than data, and nothing in it "
                         f"was run") from exc
    if not isinstance(data, dict) or not set(KEYS) <= set(data):
        raise ValueError(f"{path}: not {expected}")
    return data


def checkpoint_digest(path: str | Path | None = None) -> str:
    """SHA-256 of a checkpoint file's bytes (default: the shipped one): what a run's stages
    are fingerprinted with, so a replaced checkpoint is never mistaken for the old one."""
    with _located(path) as p:
        return hashlib.sha256(p.read_bytes()).hexdigest()


@contextmanager
def _located(path: str | Path | None) -> Iterator[Path]:
    """The file a checkpoint name means: a path that exists, else a shipped file's bare name
    (None: the default one); anything else is an error naming the shipped ones."""
    if path is not None and Path(path).is_file():
        yield Path(path)
        return
    name = CHECKPOINT_NAME if path is None else str(path)
    if name not in SHIPPED:
        raise FileNotFoundError(f"checkpoint not found: {path} (a path, or one of the shipped "
                                f"{list(SHIPPED)})")
    with resources.as_file(resources.files("rehabgym") / "assets" / name) as p:
        yield p


def load_checkpoint(path: str | Path | None = None) -> tuple[Cortex, ArmConfig]:
    """Load a cortex checkpoint: a path, a shipped file's bare name, or (None) the default
    healthy one shipped with the package."""
    with _located(path) as p:
        data = _read(p)
    cortex = Cortex(from_dict(CortexConfig, data["cortex_config"]), n_inputs=data["n_inputs"])
    cortex.load_state_dict(data["state_dict"])
    return cortex, from_dict(ArmConfig, data["arm_config"])
