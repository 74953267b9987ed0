"""`rehabgym pool`: the phenomena table on the patients of several validate runs together.

Each seed of `rehabgym validate` draws its own cohorts from the same distributions. Pooling k
seeds is one validation with k times the patients: the same rows and criteria, CIs about √k
narrower, and one verdict per row instead of k verdicts of which some fail by chance alone
(twelve rows at 80 % power each pass together on one seed 7 % of the time). Nothing is
simulated again: the runs' saved stages are read (never changed), so the runs must have
finished and must share every setting but the seed (`patient.nthread` changes no number).
Noise seeds follow the validation seed (patient i of seed s draws stream s + i), so runs of
adjacent seeds give different lesions the same noise streams, shifted by one patient.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rehabgym.atomic import write_text
from rehabgym.config import ConfigError, load_config, to_dict
from rehabgym.cortex.plasticity import RULES
from rehabgym.patient import sample_cohort
from rehabgym.phenomena import challenge as ch
from rehabgym.phenomena import natural_history as nh
from rehabgym.phenomena import therapy as th
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.data import PhenomenaData
from rehabgym.phenomena.registry import experiments_of
from rehabgym.phenomena.table import Row, markdown
from rehabgym.phenomena.validate import (
    phenomena_figures,
    phenomena_rows,
    save_table,
    selected_rows,
    stage_key,
)
from rehabgym.stages import fingerprint, read_arrays

#: settings that may differ between pooled runs: the seed, and threads (which change no number)
FREE = ({"seed"}, {"nthread"})


def _stage(folder: Path, name: str, required: bool = True) -> dict[str, np.ndarray] | None:
    path = folder / "stages" / f"{name}.npz"
    if not path.is_file():
        if not required:
            return None
        raise ConfigError(f"runs: {folder} has no finished {name!r} stage ({path}); run "
                          f"`rehabgym validate --out {folder}` with its config to finish it")
    return read_arrays(path)


def _ablation(folder: Path, cfg: ValidateConfig) -> str | None:
    """The ablation the run's stages were made with (None: none); an error when they were
    made with another config than its config.yaml (a folder run again with another one)."""
    stamp = folder / "stages" / "config.sha256"
    key = stamp.read_text().strip() if stamp.is_file() else None
    for ablate in (None, *RULES):
        if key == fingerprint(stage_key(cfg, ablate)):
            return ablate
    raise ConfigError(f"runs: the stages of {folder} were not made with its config.yaml (or "
                      "the healthy checkpoint changed since); run `rehabgym validate --config "
                      f"{folder / 'config.yaml'} --out {folder}` to make them again")


def load_run(folder: str | Path) -> tuple[ValidateConfig, PhenomenaData]:
    """A finished validate run's config and measurements, read from its folder: the stages of
    the experiments its rows need (an error for one missing), the others None."""
    folder = Path(folder)
    if not (folder / "config.yaml").is_file():
        raise ConfigError(f"runs: {folder} is not a finished validate run (no config.yaml, "
                          "which validate writes last)")
    cfg = load_config(ValidateConfig, folder / "config.yaml")
    ablate = _ablation(folder, cfg)
    needed = experiments_of(selected_rows(ablate, cfg.rows))

    def stage(name: str, record):
        return record(_stage(folder, name)) if name in needed else None

    data = PhenomenaData(
        lesions=sample_cohort(cfg.cohort, cfg.n_patients, cfg.seed),
        nat=stage("natural_history", nh.NaturalHistory.from_arrays),
        ther=stage("therapy", th.TherapyResult.from_arrays),
        ther_all=stage("threshold", th.TherapyResult.from_arrays),
        finals=stage("therapist", dict),
        chal=stage("challenge", ch.ChallengeResult.from_arrays))
    return cfg, data


def _shared(cfg: ValidateConfig) -> dict:
    d = to_dict(cfg)
    for key in FREE[0]:
        d.pop(key)
    for key in FREE[1]:
        d["patient"].pop(key)
    return d


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out += _differences(x, y, f"{prefix}{key}.")
        elif x != y:
            out.append(f"{prefix}{key}")
    return out


def pool(folders: list[str | Path], out: Path | None = None) -> list[Row]:
    """The table on the union of the runs' patients; saved under `out` as validate saves its
    own (table, JSON, figures, the first run's config), with `runs.json` naming the runs."""
    if len(folders) < 1:
        raise ConfigError("runs: give at least one validate run folder")
    if out is not None and Path(out).resolve() in {Path(f).resolve() for f in folders}:
        raise ConfigError(f"out: {out} is one of the runs; the pooled table goes elsewhere")
    runs = [load_run(f) for f in folders]
    cfg = runs[0][0]
    seeds = [c.seed for c, _ in runs]
    if len(set(seeds)) < len(seeds):
        raise ConfigError(f"runs: the same seed twice ({seeds}) would count its patients twice")
    for folder, (c, _) in zip(folders[1:], runs[1:]):
        diff = _differences(_shared(cfg), _shared(c))
        if diff:
            raise ConfigError(f"runs: {folder} differs from {folders[0]} in {', '.join(diff)}; "
                              "pooled runs share every setting but the seed")
    data = PhenomenaData.concat([d for _, d in runs])
    rows = phenomena_rows(cfg, data)
    table = markdown(rows)
    print(f"Phenomena ({len(data.lesions)} patients, seeds {', '.join(map(str, seeds))} "
          f"pooled)\n{table}")
    if out is not None:
        save_table(cfg, rows, phenomena_figures(cfg, data, rows), table, out)
        write_text(out / "runs.json", json.dumps(
            {"runs": [str(Path(f).resolve()) for f in folders], "seeds": seeds}, indent=1))
    return rows
