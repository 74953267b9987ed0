"""Long commands in stages: each finished stage is saved in the run folder, so a run killed and
started again with the same folder and config continues after the stages it had finished.

Stages are saved as data only (numpy `.npz` without pickles), atomically; the folder
also keeps a fingerprint of the resolved config, and a folder of another config is started
again from scratch, saying so. Optuna studies kept on disk (`open_study`: `rehabgym tune` and
`rehabgym calibrate`) continue the same way.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rehabgym.atomic import atomic_path, remove_leftovers, write_text
from rehabgym.config import ConfigError, to_dict


def fingerprint(config: Any) -> str:
    """The key a stages folder is kept under: a hash of the resolved config."""
    return hashlib.sha256(yaml.safe_dump(to_dict(config), sort_keys=True).encode()).hexdigest()


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """A saved stage's arrays (data only: no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


class Stages:
    """The finished stages of one run in `<folder>/stages/` (None: keep nothing)."""

    def __init__(self, folder: Path | None, config: Any, label: str) -> None:
        self.label = label
        self.folder = None if folder is None else Path(folder) / "stages"
        if self.folder is None:
            return
        key = fingerprint(config)
        stamp = self.folder / "config.sha256"
        if stamp.is_file() and stamp.read_text().strip() != key:
            print(f"{label}: {self.folder} holds stages of another config; starting again",
                  file=sys.stderr)
            shutil.rmtree(self.folder)
        if self.folder.is_dir():
            remove_leftovers(self.folder)  # what a run killed while saving left behind
        write_text(stamp, key + "\n")

    def arrays(self, name: str, compute: Callable[[], dict[str, np.ndarray]]
               ) -> dict[str, np.ndarray]:
        """Stage `name` as arrays: read back if it finished before, else computed and saved."""
        done = self.load_arrays(name)
        if done is not None:
            return done
        out = compute()
        self.save_arrays(name, out)
        return out

    def load_arrays(self, name: str, announce: bool = True) -> dict[str, np.ndarray] | None:
        """The arrays of stage `name` if it finished in an earlier run (saying so, unless
        `announce` is off), else None."""
        path = None if self.folder is None else self.folder / f"{name}.npz"
        if path is None or not path.is_file():
            return None
        if announce:
            self._reused(name, path)
        return read_arrays(path)

    def save_arrays(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Keep stage `name`'s arrays (atomically; nothing without a folder)."""
        if self.folder is None:
            return
        with atomic_path(self.folder / f"{name}.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)

    def _reused(self, name: str, path: Path) -> None:
        print(f"{self.label}: {name} finished in an earlier run, read from {path}",
              file=sys.stderr)


def open_study(out: Path, name: str, settings: dict[str, Any], seed: int) -> tuple[Any, list[int]]:
    """The study `name` in `out/study.db`, new or continued, and the numbers of the trials a
    killed run left running (now marked failed: one folder serves one run at a time). A study
    run with other `settings` is a ConfigError; a continued study's sampler draws new
    parameters, not those it drew before."""
    import optuna  # a second of imports, for the commands that search only

    study = optuna.create_study(study_name=name, direction="maximize",
                                storage=f"sqlite:///{(out / 'study.db').resolve()}",
                                load_if_exists=True)
    if study.user_attrs.get("settings", settings) != settings:
        raise ConfigError(f"out: the study in {out} was run with other settings (see its "
                          f"config.yaml); continue it with them or choose another --out")
    study.set_user_attr("settings", settings)
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    killed = [t.number for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    for number in killed:
        study.tell(number, state=optuna.trial.TrialState.FAIL)
    return study, killed
