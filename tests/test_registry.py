"""The phenomena registry: one record per row, and everything over the rows iterates it."""

from __future__ import annotations

import pytest

from rehabgym.phenomena import registry
from rehabgym.phenomena.registry import (
    EXPERIMENTS,
    NEEDS_THERAPIST,
    experiments_of,
    register,
    registered,
)
from rehabgym.phenomena.table import Row
from rehabgym.phenomena.validate import phenomena_figures, phenomena_rows, selected_rows


def test_the_rows_are_numbered_without_gaps_each_with_one_experiment() -> None:
    rows = registered()
    assert [p.number for p in rows] == list(range(1, len(rows) + 1))
    assert len({p.name for p in rows}) == len(rows)
    assert all(p.experiment in EXPERIMENTS for p in rows)


def test_an_ablation_measures_every_row_but_those_needing_a_therapist() -> None:
    every, ablated = registered(), selected_rows("hebbian")
    assert {p.number for p in every} - {p.number for p in ablated} == {
        p.number for p in every if NEEDS_THERAPIST in p.tags}
    assert "therapist" not in experiments_of(ablated)
    assert experiments_of(registered()) == list(EXPERIMENTS)


def test_chosen_rows_bring_their_experiments_and_unknown_rows_are_named() -> None:
    assert experiments_of(selected_rows(rows=(11, 12))) == ["challenge"]
    assert experiments_of(selected_rows(rows=(4,))) == ["natural_history", "therapy"]
    with pytest.raises(ValueError, match=r"rows: \[99\] not measured; allowed: \[1, 2"):
        selected_rows(rows=(3, 99))
    with pytest.raises(ValueError, match="under --ablate"):
        selected_rows("reward", rows=(10,))


def test_an_experiment_brings_the_one_it_needs() -> None:
    therapy_rows = [p for p in registered() if p.experiment == "therapy"]
    assert experiments_of(therapy_rows) == ["natural_history", "therapy"]


@pytest.fixture
def scratch_registry(monkeypatch):
    """The registry as it is, restored after the test (a test's rows never leak)."""
    registered()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def _constant_row(number: int):
    return lambda cfg, data: Row(number, "a new row", "x", "y", True)


def test_a_new_row_plugs_in_without_touching_the_others(scratch_registry) -> None:
    n = len(registered()) + 1
    register(n, "new_row", "natural_history", _constant_row(n))
    assert [p.number for p in registered()][-1] == n
    assert phenomena_rows(None, _NoData(), [registered()[-1]])[0].number == n
    assert phenomena_figures(None, _NoData(), [Row(n, "a new row", "x", "y", True)]) == {}


class _NoData:
    """Stands for what validate measured: only the natural history (rows need none here)."""

    nat = object()
    ther = ther_all = finals = chal = None


def test_a_criterion_that_makes_another_row_is_refused(scratch_registry) -> None:
    n = len(registered()) + 1
    register(n, "wrong_number", "natural_history", _constant_row(n + 1))
    with pytest.raises(ValueError, match=f"row {n} \\(wrong_number\\)"):
        phenomena_rows(None, _NoData(), [registered()[-1]])


def test_rows_of_an_experiment_not_run_are_left_out(scratch_registry) -> None:
    n = len(registered()) + 1
    register(n, "needs_challenge", "challenge", _constant_row(n))
    assert phenomena_rows(None, _NoData(), [registered()[-1]]) == []


@pytest.mark.parametrize("field, kwargs", [
    ("number", {"number": 1, "name": "other_name"}),
    ("number", {"number": 0}),
    ("name", {"name": "Bad Name"}),
    ("experiment", {"experiment": "surgery"}),
    ("tags", {"tags": ("invented",)}),
])
def test_a_bad_registration_names_the_field_and_changes_nothing(scratch_registry, field: str,
                                                                kwargs: dict) -> None:
    before = dict(registry._REGISTRY)
    args = {"number": 99, "name": "fine", "experiment": "therapy",
            "criterion": _constant_row(99)} | kwargs
    with pytest.raises(ValueError, match=f"^{field}:"):
        register(**args)
    assert registry._REGISTRY == before
