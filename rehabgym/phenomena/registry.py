"""The phenomena registry: one record per row of the table, registered beside its experiment.

Everything that goes over the rows — `validate`, `pool`, the figures, `--ablate` and the tests
that every row has criteria tests — iterates `registered()`, so a new row plugs in by
registering itself in its experiment's module without touching the others (as dm_control's
suite registers its tasks).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rehabgym.phenomena.config import ValidateConfig
    from rehabgym.phenomena.data import PhenomenaData
    from rehabgym.phenomena.table import Row

#: validate's experiments, in the order they run in one process (each a stage of its own)
EXPERIMENTS = ("natural_history", "therapy", "threshold", "therapist", "challenge")
#: the experiment each needs measured first (the therapy arms treat the natural history's
#: most moderate patients)
NEEDS = {"therapy": "natural_history"}

#: tags a row may carry
NATURAL_HISTORY = "natural history"  # the cohort without therapy
NEEDS_THERAPY = "needs therapy"  # patients practise in the experiment
NEEDS_THERAPIST = "needs a therapist"  # therapist policies treat held-out patients (not ablated)
TAGS = (NATURAL_HISTORY, NEEDS_THERAPY, NEEDS_THERAPIST)

Criterion = Callable[["ValidateConfig", "PhenomenaData"], "Row"]
Drawing = Callable[["ValidateConfig", "PhenomenaData", "Row"], "Figure"]


@dataclass(frozen=True)
class Phenomenon:
    """A row: its number and name, the experiment that measures it, its criterion (the row
    with its effect, CI and verdict from what was measured), its figure (if any) and tags."""

    number: int
    name: str
    experiment: str
    criterion: Criterion
    figure: Drawing | None = None
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def figure_name(self) -> str:
        """The figure's file name (without `.png`) and TensorBoard tag."""
        return f"row{self.number}_{self.name}"


_REGISTRY: dict[int, Phenomenon] = {}


def register(number: int, name: str, experiment: str, criterion: Criterion,
             figure: Drawing | None = None, tags: tuple[str, ...] = ()) -> Phenomenon:
    """Add a row to the table; an error naming the field for a number taken by another row,
    a name that is not a lower-case identifier, an unknown experiment or tag."""
    if not isinstance(number, int) or number < 1:
        raise ValueError(f"number: {number!r} is not a positive integer")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"name: {name!r} is not a lower-case identifier (figure files use it)")
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment: {experiment!r} unknown; allowed: {list(EXPERIMENTS)}")
    unknown = sorted(set(tags) - set(TAGS))
    if unknown:
        raise ValueError(f"tags: {unknown} unknown; allowed: {list(TAGS)}")
    record = Phenomenon(number, name, experiment, criterion, figure, frozenset(tags))
    taken = _REGISTRY.get(number)
    if taken is not None and (taken.name, taken.experiment) != (name, experiment):
        raise ValueError(f"number: row {number} is already {taken.name!r} ({taken.experiment})")
    _REGISTRY[number] = record
    return record


def registered(without: tuple[str, ...] = ()) -> list[Phenomenon]:
    """Every registered row in number order, less those carrying a tag of `without`."""
    # each experiment's module registers its rows when imported
    from rehabgym.phenomena import (  # noqa: F401
        challenge,
        natural_history,
        therapist,
        therapy,
        threshold,
    )

    return [p for _, p in sorted(_REGISTRY.items()) if not p.tags & set(without)]


def experiments_of(rows: list[Phenomenon]) -> list[str]:
    """The experiments `rows` need, with those they depend on, in the order they run."""
    needed = {p.experiment for p in rows}
    needed |= {NEEDS[e] for e in needed if e in NEEDS}
    return [e for e in EXPERIMENTS if e in needed]
