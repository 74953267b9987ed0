"""The report of a cohort evaluation: one row per therapist (final score, recovery, dose,
return, gain over no therapy, a paired t-test of the first therapist against each other), as
Markdown and CSV, one row per patient, and figures.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from rehabgym.atomic import atomic_open, atomic_path, write_text
from rehabgym.evaluation.cohort import CohortResult
from rehabgym.evaluation.figures import (
    final_scores_figure,
    recovery_curves_figure,
    schedule_by_severity_figure,
    schedule_figure,
    severity_bands,
)
from rehabgym.stats import mean_ci, paired_t_test


def summarize(results: dict[str, CohortResult], primary: str | None = None,
              control: str = "no_therapy") -> list[dict[str, Any]]:
    """One row per therapist: final score, recovery, dose, episode return, gain over `control`,
    and a paired test of `primary` (default: the first therapist) against it on the same
    patients (on the final score)."""
    names = list(results)
    primary = primary or names[0]
    rows = []
    for name in names:
        res = results[name]
        final, final_ci = mean_ci(res.final)
        recovery, recovery_ci = mean_ci(res.recovery)
        ret, ret_ci = mean_ci(res.returns)
        row: dict[str, Any] = {
            "therapist": name, "patients": len(res.seeds),
            "initial_score": float(np.mean(res.initial)),
            "final_score": final, "final_score_ci95": final_ci,
            "recovery_fraction": recovery, "recovery_fraction_ci95": recovery_ci,
            "dose": float(np.nanmean(res.dose)),
            "return": ret, "return_ci95": ret_ci,
            "gain_over_no_therapy": (float(np.mean(res.final - results[control].final))
                                     if control in results else math.nan),
        }
        if name != primary:
            test = paired_t_test(results[primary].final, res.final)
            on_return = paired_t_test(results[primary].returns, res.returns)
            row.update(primary_minus_this=test.mean_diff, diff_ci95=test.ci_half,
                       t=test.t, p=test.p, return_minus_this=on_return.mean_diff,
                       return_diff_ci95=on_return.ci_half, return_p=on_return.p)
        else:
            row.update(primary_minus_this=math.nan, diff_ci95=math.nan, t=math.nan, p=math.nan,
                       return_minus_this=math.nan, return_diff_ci95=math.nan,
                       return_p=math.nan)
        rows.append(row)
    return rows


def _fmt(x: float, digits: int = 1) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}f}"


def _pm(x: float, ci: float, digits: int = 2) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}f} ± {_fmt(ci, digits)}"


def _p(p: float) -> str:
    return "—" if not math.isfinite(p) else ("< 0.001" if p < 1e-3 else f"{p:.3f}")


def return_table(rows: list[dict[str, Any]]) -> str:
    """The paired tests on the return (what an RL therapist maximises) as a Markdown table."""
    primary = rows[0]["therapist"]
    lines = [f"| therapist | return (95 % CI) | {primary} − this on return (95 % CI) | p |",
             "|---|---|---|---|"]
    lines += [f"| {r['therapist']} | {_pm(r['return'], r['return_ci95'], 1)} | "
              f"{_pm(r['return_minus_this'], r['return_diff_ci95'])} | {_p(r['return_p'])} |"
              for r in rows]
    return "\n".join(lines) + "\n"


def severity_table(results: dict[str, CohortResult], primary: str | None = None) -> str:
    """Final score by acute severity (the score when therapy starts), and the first
    therapist minus each other one in each band (paired t; '—' below 2 patients)."""
    names = list(results)
    primary = primary or names[0]
    bands = severity_bands(results[primary].initial)
    head = "| therapist | " + " | ".join(f"{label}: n = {int(m.sum())}" for label, m in bands)
    lines = [head + " |", "|---|" + "---|" * len(bands)]
    for name in names:
        cells = []
        for _, mask in bands:
            final = results[name].final[mask]
            if not mask.any():
                cells.append("—")
            elif name == primary or mask.sum() < 2:
                cells.append(f"{np.mean(final):.1f}")
            else:
                test = paired_t_test(results[primary].final[mask], final)
                cells.append(f"{np.mean(final):.1f} ({primary} − this {test.mean_diff:+.2f}, "
                             f"p {_p(test.p)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table (the first row is the therapist tested against the rest)."""
    primary = rows[0]["therapist"]
    head = ("| therapist | final score (95 % CI) | recovery fraction | dose | return"
            f" | gain over no therapy | {primary} − this (95 % CI) | p (paired t) |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        p_txt = _p(r["p"])
        lines.append(
            f"| {r['therapist']} | {_pm(r['final_score'], r['final_score_ci95'], 1)}"
            f" | {_pm(r['recovery_fraction'], r['recovery_fraction_ci95'])}"
            f" | {_fmt(r['dose'], 0)} | {_pm(r['return'], r['return_ci95'], 1)}"
            f" | {_fmt(r['gain_over_no_therapy'], 2)}"
            f" | {_pm(r['primary_minus_this'], r['diff_ci95'])} | {p_txt} |")
    return "\n".join(lines) + "\n"


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with atomic_open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def patient_rows(results: dict[str, CohortResult]) -> list[dict[str, Any]]:
    """One row per (therapist, patient): the paired data behind the tests."""
    return [
        {"therapist": name, "seed": int(seed), "initial_score": float(res.initial[i]),
         "final_score": float(res.final[i]), "recovery_fraction": float(res.recovery[i]),
         "dose": float(res.dose[i]), "return": float(res.returns[i])}
        for name, res in results.items() for i, seed in enumerate(res.seeds)]


def save_report(results: dict[str, CohortResult], out: Path,
                primary: str | None = None) -> list[dict[str, Any]]:
    """Write evaluation.md, evaluation.csv, patients.csv and figures into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    rows = summarize(results, primary)
    table = markdown_table(rows)
    seeds = next(iter(results.values())).seeds
    write_text(
        out / "evaluation.md",
        f"# Therapist evaluation\n\n{len(seeds)} held-out patients (seeds {int(seeds[0])}…"
        f"{int(seeds[-1])}), the same for every therapist.\n\n{table}\n"
        f"## On the return\n\n{return_table(rows)}\n"
        f"## By severity when therapy starts (final score)\n\n"
        f"{severity_table(results, rows[0]['therapist'])}")
    write_csv(rows, out / "evaluation.csv")
    write_csv(patient_rows(results), out / "patients.csv")
    figures = {"recovery_curves": recovery_curves_figure(results),
               "final_scores": final_scores_figure(results),
               "schedule": schedule_figure(results[rows[0]["therapist"]]),
               "schedule_by_severity": schedule_by_severity_figure(
                   results[rows[0]["therapist"]])}
    for name, fig in figures.items():
        with atomic_path(out / f"{name}.png") as tmp:
            fig.savefig(tmp, dpi=110)
    return rows


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """Read a CSV written by `save_report` back (values as strings)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
