"""Files are written whole or not at all: a save interrupted mid-write leaves the previous file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rehabgym.atomic import append_line, atomic_open, remove_leftovers, write_text
from rehabgym.config import load_config, save_config
from rehabgym.cortex.lesion import Lesion
from rehabgym.patient import Patient, PatientBatch, PatientConfig


class Killed(BaseException):
    """Stands in for the process dying (not an Exception: nothing may catch it)."""


def test_an_interrupted_text_write_leaves_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    write_text(path, "old\n")
    with pytest.raises(Killed), atomic_open(path) as f:
        f.write("half of the new")
        raise Killed
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temporary left
    append_line(path, "more")
    assert path.read_text() == "old\nmore\n"


def test_an_interrupted_config_save_leaves_the_previous_config(tmp_path: Path,
                                                                monkeypatch) -> None:
    path = tmp_path / "config.yaml"
    save_config(PatientConfig(daily_life_reps=7), path)

    monkeypatch.setattr("rehabgym.config.yaml.safe_dump",
                        lambda data, **kw: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):
        save_config(PatientConfig(daily_life_reps=9), path)
    assert load_config(PatientConfig, path).daily_life_reps == 7


def test_an_interrupted_patient_save_leaves_the_previous_file(tmp_path: Path,
                                                              monkeypatch) -> None:
    path = tmp_path / "patient.pt"
    p = Patient(Lesion(focal_center=(1.0, 1.0), focal_radius=0.5), seed=0)
    p.save(path)
    before = path.read_bytes()
    real_save = torch.save

    def dies_half_way(obj, f, *args, **kwargs):
        real_save({"partial": torch.zeros(3)}, f)
        raise Killed

    monkeypatch.setattr("rehabgym.patient.state.torch.save", dies_half_way)
    with pytest.raises(Killed):
        p.save(path)
    assert path.read_bytes() == before
    assert PatientBatch.load(path).scores == pytest.approx(p.batch.scores)
    assert [q.name for q in tmp_path.iterdir()] == ["patient.pt"]


def test_files_get_the_mode_open_would_give_them(tmp_path: Path) -> None:
    write_text(tmp_path / "a.txt", "x")
    (tmp_path / "b.txt").write_text("x")
    assert (tmp_path / "a.txt").stat().st_mode == (tmp_path / "b.txt").stat().st_mode


def test_the_leftovers_of_a_killed_write_are_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / ".model_20_steps.zip.k3j_9xq2.zip").write_text("half")
    (tmp_path / ".natural_history.npz.abcd1234.npz").write_text("half")
    for keep in (".gitkeep", "model_20_steps.zip", ".hidden"):
        (tmp_path / keep).write_text("kept")
    gone = remove_leftovers(tmp_path)
    assert sorted(p.name for p in gone) == [".model_20_steps.zip.k3j_9xq2.zip",
                                            ".natural_history.npz.abcd1234.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitkeep", ".hidden",
                                                          "model_20_steps.zip"]
