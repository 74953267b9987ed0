"""A trial's report: the analysis (`analyse`) and its files (`write_report`).

`results.json` holds every number of `trial.md`; `patients.csv` one row per patient (arm,
stratum, lesion, baseline, outcomes), enough to redo any analysis; the figures show recovery
by arm, the effects against the control, and the gain by baseline severity.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rehabgym.atomic import atomic_open, atomic_path, write_text
from rehabgym.stats import (
    ancova,
    mean_estimate,
    rate_difference,
    responder_rate,
    sample_size,
)
from rehabgym.trials.config import TrialConfig
from rehabgym.trials.figures import by_baseline_figure, forest_figure, recovery_figure
from rehabgym.trials.randomise import stratum_names
from rehabgym.trials.run import TrialResult


def _estimate(e: Any) -> dict[str, float]:
    return {"value": e.value, "low": e.low, "high": e.high, "p": e.p, "n": e.n}


def analyse(result: TrialResult) -> dict[str, Any]:
    """Every number of the report: per arm, each outcome's mean with its 95 % CI and the
    responder rate; each arm against the control by ANCOVA on the score at the start of
    therapy (primary with Holm-adjusted p over the arms, secondaries unadjusted), the responder
    difference, outcomes by stratum, and the follow-up sample size."""
    cfg = result.config
    names = result.arm_names
    base = result.baseline
    outcomes = [cfg.primary, *[o for o in cfg.secondary if o != cfg.primary]]
    arms: dict[str, Any] = {}
    rates = {}
    for name in cfg.arm_names:
        sel = names == name
        rates[name] = responder_rate(result.responders[sel])
        arms[name] = {
            "patients": int(sel.sum()),
            "acute_score": _estimate(mean_estimate(result.acute[sel])),
            "baseline_score": _estimate(mean_estimate(base[sel])),
            **{o: _estimate(mean_estimate(result.outcome(o)[sel])) for o in outcomes},
            "responders": {**asdict(rates[name]), "value": rates[name].value},
        }
    comparisons: dict[str, Any] = {}
    residual_sd = math.nan
    for o in outcomes:
        effects, sd = ancova(result.outcome(o), base, names, cfg.control, cfg.arm_names)
        if o == cfg.primary:
            residual_sd = sd
        comparisons[o] = {e.arm: {**_estimate(e.effect), "p_holm": e.p_holm,
                                  "cohen_d": e.cohen_d, "n": e.n, "n_control": e.n_control}
                          for e in effects}
    comparisons["responders"] = {
        name: _estimate(rate_difference(rates[name], rates[cfg.control]))
        for name in cfg.arm_names if name != cfg.control}
    strata = stratum_names(cfg.randomisation)
    by_stratum = {
        strata[s]: {name: {"patients": int(((result.strata == s) & (names == name)).sum()),
                           "gain": _estimate(mean_estimate(
                               result.outcome("gain")[(result.strata == s) & (names == name)]))}
                    for name in cfg.arm_names}
        for s in range(len(strata))}
    return {
        "name": cfg.name, "patients": len(result.seeds), "control": cfg.control,
        "primary": cfg.primary, "secondary": outcomes[1:], "mcid": cfg.mcid,
        "horizon_days": cfg.env.horizon_days, "cohort": to_name(cfg.env.cohort),
        "arms": arms, "comparisons": comparisons, "by_stratum": by_stratum,
        "sample_size": {"target_difference": cfg.target_difference, "power": cfg.power,
                        "residual_sd": residual_sd,
                        "patients_per_arm": (sample_size(cfg.target_difference, residual_sd,
                                                         cfg.power)
                                             if math.isfinite(residual_sd) else None)},
        "curves": {name: [_estimate(mean_estimate(result.scores[names == name, t]))
                          for t in range(result.scores.shape[1])] for name in cfg.arm_names},
    }


def to_name(cohort: Any) -> str:
    return cohort if isinstance(cohort, str) else "custom"


def _ci(e: dict[str, float], digits: int = 1) -> str:
    if not math.isfinite(e["value"]):
        return "—"
    if not math.isfinite(e["low"]):
        return f"{e['value']:.{digits}f}"
    return f"{e['value']:.{digits}f} [{e['low']:.{digits}f}, {e['high']:.{digits}f}]"


def _p(p: float) -> str:
    return "—" if not math.isfinite(p) else ("< 0.001" if p < 1e-3 else f"{p:.3f}")


def markdown(report: dict[str, Any], cfg: TrialConfig) -> str:
    """`trial.md`: design, arms, the primary comparison, responders, secondaries, strata."""
    primary, control = report["primary"], report["control"]
    rand = cfg.randomisation
    lines = [f"# Trial: {report['name']}", "",
             f"{report['patients']} patients from the `{report['cohort']}` cohort, "
             f"{report['horizon_days']} days of therapy from day {cfg.env.start_day} after the "
             f"stroke; randomised in permuted blocks of {rand.block_arms * len(cfg.arms)}"
             + (f" within strata of the acute score ({', '.join(stratum_names(rand))})"
                if rand.stratify else "")
             + f" (seed {rand.seed}). Primary outcome: `{primary}`, each arm against "
             f"`{control}` by ANCOVA on the score at the start of therapy (Holm-adjusted over "
             f"the arms). Responder: a gain of at least {report['mcid']:g} points.", "",
             "| arm | patients | baseline | " + f"{primary} (95 % CI) | "
             f"vs {control}: adjusted difference (95 % CI) | p | p (Holm) | d | responders "
             "(95 % CI) | responders vs control (95 % CI) | p |",
             "|" + "---|" * 11]
    for name, arm in report["arms"].items():
        eff = report["comparisons"][primary].get(name)
        resp = report["comparisons"]["responders"].get(name)
        r = arm["responders"]
        rate = (f"{100 * r['value']:.0f} % [{100 * r['low']:.0f}, {100 * r['high']:.0f}]"
                if r["n"] else "—")
        resp_txt = (f"{100 * resp['value']:+.0f} pts [{100 * resp['low']:+.0f}, "
                    f"{100 * resp['high']:+.0f}]" if resp else "—")
        if eff:
            versus = (f"{_ci(eff)} | {_p(eff['p'])} | {_p(eff['p_holm'])} | "
                      f"{eff['cohen_d']:.2f}")
        elif name == control:
            versus = "(control) | — | — | —"
        else:
            versus = "— (too few patients to compare) | — | — | —"
        lines.append(f"| {name} | {arm['patients']} | {arm['baseline_score']['value']:.1f} | "
                     f"{_ci(arm[primary])} | {versus} | {rate} | {resp_txt} | "
                     f"{_p(resp['p']) if resp else '—'} |")
    ss = report["sample_size"]
    if ss["patients_per_arm"] is not None:
        lines += ["", f"Sample size: to detect a difference of {ss['target_difference']:g} "
                  f"in `{primary}` with power {ss['power']:g} (two-sided, alpha 0.05), "
                  f"{ss['patients_per_arm']} patients per arm (ANCOVA residual SD "
                  f"{ss['residual_sd']:.2f} in this trial)."]
    if report["secondary"]:
        lines += ["", "## Secondary outcomes (ANCOVA on the baseline; p unadjusted)", "",
                  "| outcome | " + " | ".join(report["arms"]) + " |",
                  "|" + "---|" * (1 + len(report["arms"]))]
        for o in report["secondary"]:
            cells = []
            for name, arm in report["arms"].items():
                eff = report["comparisons"][o].get(name)
                cells.append(_ci(arm[o]) + (f"; {_ci(eff)} vs control, p {_p(eff['p'])}"
                                            if eff else ""))
            lines.append(f"| {o} | " + " | ".join(cells) + " |")
    lines += ["", "## Gain by acute severity (stratum of the acute score)", "",
              "| stratum | " + " | ".join(report["arms"]) + " |",
              "|" + "---|" * (1 + len(report["arms"]))]
    for stratum, row in report["by_stratum"].items():
        lines.append(f"| {stratum} | " + " | ".join(
            f"{_ci(v['gain'])} (n {v['patients']})" for v in row.values()) + " |")
    return "\n".join(lines) + "\n"


def patient_rows(result: TrialResult) -> list[dict[str, Any]]:
    """One row per patient: arm, seed, stratum, lesion, acute and baseline scores, outcomes."""
    names = result.arm_names
    strata = stratum_names(result.config.randomisation)
    outcomes = {o: result.outcome(o) for o in ("final_score", "gain", "recovery_fraction",
                                               "dose", "return")}
    return [{"patient": i, "seed": int(result.seeds[i]), "arm": str(names[i]),
             "stratum": strata[int(result.strata[i])],
             **{f"lesion_{k}": float(v) for k, v in result.lesions[i].items()},
             "acute_score": float(result.acute[i]), "baseline_score": float(result.baseline[i]),
             **{o: float(v[i]) for o, v in outcomes.items()},
             "responder": bool(result.responders[i])}
            for i in range(len(result.seeds))]


def write_report(result: TrialResult, out: str | Path) -> dict[str, Any]:
    """results.json, patients.csv, trial.md and the figures into `out`; the analysis."""
    out = Path(out)
    report = analyse(result)
    write_text(out / "results.json", json.dumps(report, indent=1, allow_nan=True) + "\n")
    rows = patient_rows(result)
    with atomic_open(out / "patients.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    write_text(out / "trial.md", markdown(report, result.config))
    figures = {"recovery_curves": recovery_figure(report),
               "forest": forest_figure(report),
               "gain_by_baseline": by_baseline_figure(result)}
    for name, fig in figures.items():
        with atomic_path(out / f"{name}.png") as tmp:
            fig.savefig(tmp, dpi=110)
    return report


def load_results(out: str | Path) -> dict[str, Any]:
    """A trial's results.json back."""
    return json.loads((Path(out) / "results.json").read_text())

