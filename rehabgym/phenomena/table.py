"""The phenomena table: one `Row` per phenomenon, its Markdown, and what the rows' figures share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

HEADER = ("| # | phenomenon | measured (effect [95 % CI], p) | expected (α = 0.05) | result |\n"
          "|---|---|---|---|---|")


@dataclass
class Row:
    """One row: what was measured, what the literature expects, and whether it holds."""

    number: int
    phenomenon: str
    measured: str
    expected: str
    passed: bool
    values: dict = field(default_factory=dict)
    #: how far from the verdict's edge (`margins`): > 0 exactly when the row passes
    margin: float = math.nan

    def line(self) -> str:
        return (f"| {self.number} | {self.phenomenon} | {self.measured} | {self.expected} | "
                f"{'PASS' if self.passed else 'FAIL'} |")


def markdown(rows: list[Row]) -> str:
    """The table as Markdown."""
    return "\n".join([HEADER] + [r.line() for r in rows])


def rounded(x: np.ndarray, digits: int = 3) -> list[float]:
    """Per-patient values for phenomena.json."""
    return [round(float(v), digits) for v in x]


def curves(ax, s: np.ndarray, color: str = "k", label: str | None = None) -> None:
    """Each patient thin, the mean thick ([days, patients])."""
    ax.plot(s, color=color, lw=0.6, alpha=0.35)
    ax.plot(s.mean(1), color=color, lw=2.2, label=label)
