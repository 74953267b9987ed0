"""Optuna studies kept on disk: opened, checked against their settings, continued after a kill.

`rehabgym tune` and `rehabgym calibrate` keep their study in `out/study.db` (SQLite, data only);
running the command again with the same folder continues it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rehabgym.config import ConfigError


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
