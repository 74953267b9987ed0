"""What a checkpoint needs besides the model for a resumed run to be the uninterrupted one.

A checkpoint is taken where a rollout starts (the rollout buffer is empty, the update of the
last one done). SB3's zip holds the model, its optimiser and its last observation; this file
(`model_resume_<steps>_steps.pt`, beside it) holds the rest: the native vector env's patients
mid-episode and generators, the adapter's episode counters, VecNormalize's running returns,
and the global random generators (torch: the policy's sampling; numpy: the minibatch order;
Python's). Loading the model without resetting the env and restoring this file continues the
run number for number (`tests/test_training.py` compares the final parameters). Only the
native vector env can be captured; with SB3's own vector envs a resumed run starts new
episodes and new random streams, as DQN's resumed runs lack their replay buffer.
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize

from rehabgym.atomic import atomic_path
from rehabgym.therapists.residual import ResidualVectorEnv
from rehabgym.training.vec_env import NativeVecEnvAdapter

KIND = "rehabgym.resume"
VERSION = 1


def resume_file(checkpoint: Path) -> Path:
    """`model_<n>_steps.zip` -> `model_resume_<n>_steps.pt` (beside it)."""
    return checkpoint.with_name(checkpoint.name.replace("model_", "model_resume_", 1)
                                ).with_suffix(".pt")


def _layers(venv: VecEnv) -> list[VecEnv]:
    out = [venv]
    while isinstance(out[-1], VecEnvWrapper):
        out.append(out[-1].venv)
    return out


def native_adapter(venv: VecEnv) -> Any | None:
    """The `NativeVecEnvAdapter` under `venv`'s wrappers, if it runs on one."""
    return next((v for v in _layers(venv) if isinstance(v, NativeVecEnvAdapter)), None)


def _holder(adapter: Any) -> Any:
    """Whose state a checkpoint holds: a residual wrapper (its heuristics with the env) or
    the vector env itself."""
    envs = adapter.envs
    return envs if isinstance(envs, ResidualVectorEnv) else envs.unwrapped


def can_resume_exactly(venv: VecEnv) -> bool:
    return native_adapter(venv) is not None


def save_resume(path: Path, venv: VecEnv) -> None:
    """The env's and the random generators' state into `path` (data only, atomically)."""
    adapter = native_adapter(venv)
    if adapter is None:
        raise ValueError("save_resume: only the native vector env's state can be saved")
    norm = next((v for v in _layers(venv) if isinstance(v, VecNormalize)), None)
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, py_gauss = random.getstate()
    data = {
        "kind": KIND, "version": VERSION,
        "env": _holder(adapter).get_state(),
        "adapter": {"returns": torch.from_numpy(adapter._returns.copy()),
                    "lengths": torch.from_numpy(adapter._lengths.copy())},
        "normalize_returns": None if norm is None else torch.from_numpy(norm.returns.copy()),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
                      "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python_rng": {"version": version, "internal": list(internal), "gauss": py_gauss},
    }
    with atomic_path(path) as tmp:
        torch.save(data, tmp)


def load_resume(path: Path, venv: VecEnv) -> None:
    """Restore what `save_resume` saved into `venv` and the random generators. A file that is
    not a resume file (or holds more than data) is an error naming it; nothing in it runs."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a {KIND} file ({type(exc).__name__})") from exc
    if not isinstance(data, dict) or data.get("kind") != KIND or data.get("version") != VERSION:
        raise ValueError(f"{path}: not a {KIND} file of version {VERSION}")
    adapter = native_adapter(venv)
    if adapter is None:
        raise ValueError("load_resume: the run's env is not the native vector env")
    _holder(adapter).set_state(data["env"])
    adapter._returns[:] = data["adapter"]["returns"].numpy()
    adapter._lengths[:] = data["adapter"]["lengths"].numpy()
    norm = next((v for v in _layers(venv) if isinstance(v, VecNormalize)), None)
    if norm is not None and data["normalize_returns"] is not None:
        norm.returns = data["normalize_returns"].numpy().copy()
    torch.set_rng_state(data["torch_rng"])
    n = data["numpy_rng"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    p = data["python_rng"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
