"""Importing rehabgym changes nothing in the user's process, and the packages depend one way."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rehabgym"

# What each part may import from rehabgym (besides itself) and which libraries it must not.
LOWER = {
    "atomic": set(), "config": {"atomic"}, "stats": set(), "stages": {"atomic", "config"},
    "runtime": set(),
    "arm": {"config"},
    "cortex": {"config"},
    "reaching": {"config", "arm", "cortex"},
    "healthy": {"config", "arm", "cortex", "reaching"},
    "patient": {"config", "arm", "cortex", "reaching", "healthy"},
    "envs": {"config", "arm", "cortex", "reaching", "healthy", "patient"},
    "therapists": {"config", "arm", "cortex", "reaching", "healthy", "patient", "envs"},
    "evaluation": {"config", "stats", "arm", "cortex", "reaching", "healthy", "patient", "envs",
                   "therapists"},
    "training": {"config", "stats", "arm", "cortex", "reaching", "healthy", "patient", "envs",
                 "therapists", "evaluation"},
    "phenomena": {"config", "stats", "arm", "cortex", "reaching", "healthy", "patient", "envs",
                  "therapists", "evaluation"},
    "trials": {"config", "stats", "arm", "cortex", "reaching", "healthy", "patient", "envs",
               "therapists", "evaluation"},
    "tuning": {"config", "stats", "arm", "cortex", "reaching", "healthy", "patient", "envs",
               "therapists", "evaluation"},
}
for _part_name, _allowed in LOWER.items():  # files, configs and the runtime are everyone's
    if _part_name not in ("atomic", "config", "stats", "stages", "runtime"):
        _allowed |= {"atomic", "config", "stages", "runtime"}
FORBIDDEN = {
    "runtime": {"mujoco", "gymnasium", "stable_baselines3"},
    "arm": {"torch", "gymnasium", "stable_baselines3"},
    "cortex": {"mujoco", "gymnasium", "stable_baselines3"},
    "reaching": {"gymnasium", "stable_baselines3"},
    "healthy": {"gymnasium", "stable_baselines3"},
    "patient": {"gymnasium", "stable_baselines3"},
    "envs": {"stable_baselines3"},
    "tuning": {"stable_baselines3"},
}


def _imports(path: Path) -> set[str]:
    """Top-level module names a file imports, with `rehabgym.x` kept as `rehabgym.x`."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for m in modules:
            parts = m.split(".")
            names.add(".".join(parts[:2]) if parts[0] == "rehabgym" else parts[0])
    return names


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(
    p.relative_to(PACKAGE)))
def test_dependencies_run_one_way(path: Path) -> None:
    part = _part(path)
    if part not in LOWER:
        return  # cli, bench, __init__, __main__ sit on top
    imported = _imports(path)
    ours = {m.split(".")[1] for m in imported if m.startswith("rehabgym.")} - {part}
    assert ours <= LOWER[part], f"{part} imports {sorted(ours - LOWER[part])}"
    assert not imported & FORBIDDEN.get(part, set()), sorted(imported & FORBIDDEN[part])


def test_the_check_sees_a_wrong_way_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from rehabgym.training.run import train\nimport torch\n")
    assert _imports(bad) == {"rehabgym.training", "torch"}


def _run(code: str, **env: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, **env}).stdout


def test_import_changes_no_backend_prints_nothing_and_loads_no_simulator() -> None:
    code = ("import sys, matplotlib; before = matplotlib.get_backend(); import rehabgym; "
            "print(before == matplotlib.get_backend(), 'torch' in sys.modules, "
            "'mujoco' in sys.modules)")
    assert _run(code, MPLBACKEND="svg") == "True False False\n"


def test_no_module_switches_the_matplotlib_backend() -> None:
    code = ("import importlib, pkgutil, matplotlib; matplotlib.use('svg'); import rehabgym\n"
            "for m in pkgutil.walk_packages(rehabgym.__path__, 'rehabgym.'):\n"
            "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
            "print(matplotlib.get_backend())")
    assert _run(code).strip().lower() == "svg"


def test_a_patient_and_an_env_leave_the_users_torch_threads_alone() -> None:
    code = ("import torch, gymnasium as gym, rehabgym; torch.set_num_threads(2); "
            "env = gym.make('rehabgym/Therapy-v2', start_day=1, horizon_days=1); "
            "env.reset(seed=0); env.step(env.action_space.sample()); "
            "print(torch.get_num_threads())")
    assert _run(code) == "2\n"


def test_trials_load_ray_and_statsmodels_only_when_a_trial_needs_them() -> None:
    code = ("import sys, rehabgym.trials, rehabgym.cli; "
            "print('ray' in sys.modules, 'statsmodels' in sys.modules)")
    assert _run(code) == "False False\n"
