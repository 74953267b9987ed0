"""The phenomena table: one `Row` per phenomenon, and the statistics its rows share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rehabgym.stats import mean_ci

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

    def line(self) -> str:
        return (f"| {self.number} | {self.phenomenon} | {self.measured} | {self.expected} | "
                f"{'PASS' if self.passed else 'FAIL'} |")


def markdown(rows: list[Row]) -> str:
    """The table as Markdown."""
    return "\n".join([HEADER] + [r.line() for r in rows])


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    def rank(x):
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for v in np.unique(x):
            r[x == v] = r[x == v].mean()
        return r
    a, b = np.asarray(a, float), np.asarray(b, float)
    ra, rb = rank(a), rank(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def rounded(x: np.ndarray, digits: int = 3) -> list[float]:
    """Per-patient values for phenomena.json."""
    return [round(float(v), digits) for v in x]


def fmt_ci(x: np.ndarray, digits: int = 1) -> str:
    """'mean ± 95 % CI half-width' across patients."""
    m, h = mean_ci(x)
    return f"{m:.{digits}f} ± {h:.{digits}f}"


def curves(ax, s: np.ndarray, color: str = "k", label: str | None = None) -> None:
    """Each patient thin, the mean thick ([days, patients])."""
    ax.plot(s, color=color, lw=0.6, alpha=0.35)
    ax.plot(s.mean(1), color=color, lw=2.2, label=label)
