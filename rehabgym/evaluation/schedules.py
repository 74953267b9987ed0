"""`rehabgym schedules`: how much room a learned therapist has, measured on fixed schedules.

A fixed schedule is a direction rule (all directions in every session, round robin, worst
first) at one distance, assistance and repetition level of the action space, every day. Each
cohort's schedules are screened on a few patients over a short horizon, each patient in every
schedule with its own seed (common random numbers); the best `finalists` then meet again on
held-out patients over the full horizon, so the best fixed schedule is chosen on other patients
than the ones it is reported on. On the mixed cohort the adaptive therapist is compared with
the best fixed finalist on the same held-out patients (paired over patients, on the return).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from tqdm import tqdm

from rehabgym.atomic import write_text
from rehabgym.config import (
    ConfigError,
    Count,
    NonNegativeInt,
    Range,
    check_fields,
    save_config,
    to_dict,
)
from rehabgym.envs.config import TherapyEnvConfig
from rehabgym.evaluation.cohort import run_batch
from rehabgym.healthy.checkpoint import checkpoint_digest
from rehabgym.stages import Stages
from rehabgym.stats import mean_estimate
from rehabgym.therapists import heuristic_factory, parse_spec

ENV_ID = "rehabgym/Therapy-v2"
RULES = ("all_directions", "round_robin", "worst_first")


def _default_env() -> TherapyEnvConfig:
    return TherapyEnvConfig(all_directions=True)


@dataclass
class SchedulesConfig:
    """Every default of `rehabgym schedules`."""

    cohorts: tuple[str, ...] = ("mild", "severe", "mixed")
    rules: tuple[str, ...] = RULES  # direction rules (heuristics taking level arguments)
    screen_patients: Count = 2  # per cohort, every schedule
    screen_days: Annotated[int, Range(1, 365)] = 10  # the screen's horizon
    finalists: Count = 3  # best screened schedules per cohort that meet on held-out patients
    patients: Count = 32  # held-out patients per cohort in the final
    adaptive: str = "adaptive"  # compared with the best fixed finalist on the mixed cohort
    seed: NonNegativeInt = 0
    max_batch: Annotated[int, Range(1, 1024)] = 32  # patients simulated together
    env: TherapyEnvConfig = field(default_factory=_default_env)  # horizon: the final's

    def __post_init__(self) -> None:
        check_fields(self)
        for name in self.cohorts:
            replace(self.env, cohort=name)  # an unknown cohort fails here, naming the allowed
        for rule in self.rules:
            heuristic_factory(rule)  # an unknown rule fails here, naming the allowed
        heuristic_factory(self.adaptive)
        if "all_directions" in self.rules and not self.env.all_directions:
            raise ConfigError("env.all_directions: the rule all_directions needs it true")


def fixed_schedules(cfg: SchedulesConfig) -> list[str]:
    """Every rule at every distance, assistance and repetition level (and precision level,
    with the env's `precision_levels`), as therapist specs."""
    env = cfg.env
    precisions = [f", precision={p}" for p in range(len(env.precision_levels))] or [""]
    return [f"{rule}(distance={d}, assistance={a}, reps={r}{p})" for rule in cfg.rules
            for d in range(len(env.distances)) for a in range(len(env.assistance_levels))
            for r in range(len(env.repetition_levels)) for p in precisions]


def describe(spec: str, env: TherapyEnvConfig) -> str:
    """A schedule's spec in the env's units: `worst_first 10 cm, assistance 0.25, 60 reps`
    (`, precision 0.9` with a precision level)."""
    name, lv = parse_spec(spec)
    if not {"distance", "assistance", "reps"} <= lv.keys():
        return spec
    precision = (f", precision {env.precision_levels[lv['precision']]:g}"
                 if "precision" in lv and env.precision_levels else "")
    return (f"{name} {100 * env.distances[lv['distance']]:.0f} cm, assistance "
            f"{env.assistance_levels[lv['assistance']]:g}, "
            f"{env.repetition_levels[lv['reps']]} reps{precision}")


def _returns(specs: list[str], seeds: list[int], env: TherapyEnvConfig, max_batch: int,
             bar: Any) -> dict[str, np.ndarray]:
    """{"returns": [specs, patients]} episode returns, every patient under every spec (batched
    together, `max_batch` patients at a time)."""
    pairs = [(k, i) for k in range(len(specs)) for i in range(len(seeds))]
    factories = {s: heuristic_factory(s) for s in specs}
    kwargs = {"config": to_dict(env), "max_episode_steps": env.horizon_days}
    out = np.zeros((len(specs), len(seeds)))
    for start in range(0, len(pairs), max_batch):
        part = pairs[start:start + max_batch]
        rows = run_batch([factories[specs[k]] for k, _ in part], [seeds[i] for _, i in part],
                         ENV_ID, kwargs, bar)
        for (k, i), row in zip(part, rows):
            out[k, i] = row["rewards"].sum()
    return {"returns": out}


def search_schedules(cfg: SchedulesConfig, out: Path | None = None, progress: bool = True
                     ) -> dict[str, Any]:
    """Screen, final and the adaptive comparison (see the module's docstring); prints the
    lines of the result and, with `out`, writes config.yaml, schedules.json and schedules.md.
    Each cohort's screen and final is kept in `out/stages/` once finished."""
    digest = checkpoint_digest(cfg.env.patient.checkpoint)
    stages = Stages(out, {"config": cfg, "checkpoint": digest}, "rehabgym schedules")
    specs = fixed_schedules(cfg)
    n_days = sum(len(specs) * cfg.screen_patients * cfg.screen_days
                 + (cfg.finalists + (name == "mixed")) * cfg.patients * cfg.env.horizon_days
                 for name in cfg.cohorts)
    result: dict[str, Any] = {"schedules": len(specs), "cohorts": {}}
    lines = []
    with tqdm(total=n_days, desc="schedules", unit="patient-day", disable=not progress) as bar:
        for c, name in enumerate(cfg.cohorts):
            env = replace(cfg.env, cohort=name)
            screen_env = replace(env, horizon_days=cfg.screen_days)
            screen_seeds = [cfg.seed * 100_000 + 70_000 + 1000 * c + i
                            for i in range(cfg.screen_patients)]
            screen = stages.arrays(f"screen_{name}", functools.partial(
                _returns, specs, screen_seeds, screen_env, cfg.max_batch, bar))["returns"]
            order = np.argsort(-screen.mean(1), kind="stable")[:cfg.finalists]
            finalists = [specs[k] for k in order]
            contenders = finalists + ([cfg.adaptive] if name == "mixed" else [])
            held_out = [cfg.seed * 100_000 + 80_000 + 1000 * c + i
                        for i in range(cfg.patients)]
            final = stages.arrays(f"final_{name}", functools.partial(
                _returns, contenders, held_out, env, cfg.max_batch, bar))["returns"]
            best = int(np.argmax(final[:len(finalists)].mean(1)))
            best_spec = finalists[best]
            est = mean_estimate(final[best])
            entry: dict[str, Any] = {
                "screen": {s: float(r) for s, r in zip(specs, screen.mean(1))},
                "finalists": {s: float(r) for s, r in zip(finalists, final.mean(1))},
                "best": best_spec, "best_described": describe(best_spec, env),
                "best_return": est.value, "best_return_ci": [est.low, est.high]}
            lines.append(f"best fixed {name}: {describe(best_spec, env)} return "
                         f"{est.value:.2f} [{est.low:.2f}, {est.high:.2f}]")
            if name == "mixed":
                d = mean_estimate(final[-1] - final[best])
                entry.update(adaptive=cfg.adaptive, adaptive_return=float(final[-1].mean()),
                             adaptive_minus_best=d.value, ci=[d.low, d.high], p=d.p, n=d.n)
                lines.append(f"{cfg.adaptive} - best fixed (mixed): {d.value:.2f} ± "
                             f"{(d.high - d.low) / 2:.2f}, p = {d.p:.3g} (n = {d.n})")
            result["cohorts"][name] = entry
    text = "\n".join(lines)
    print(text)
    if out is not None:
        save_config(cfg, out / "config.yaml")
        write_text(out / "schedules.json", json.dumps(result, indent=1))
        write_text(out / "schedules.md", _markdown(cfg, result, lines))
    return result


def _markdown(cfg: SchedulesConfig, result: dict[str, Any], lines: list[str]) -> str:
    out = [f"# Fixed schedules ({result['schedules']} per cohort)", "",
           f"Screen: {cfg.screen_patients} patients × {cfg.screen_days} days per cohort; final: "
           f"the best {cfg.finalists} on {cfg.patients} held-out patients × "
           f"{cfg.env.horizon_days} days. Return = score gain − {cfg.env.cost_per_rep} × "
           "repetitions.", "", "```", *lines, "```", ""]
    for name, entry in result["cohorts"].items():
        out += [f"## {name}", "", "| finalist | held-out return |", "|---|---|"]
        out += [f"| {describe(s, replace(cfg.env, cohort=name))} | {r:.2f} |"
                for s, r in entry["finalists"].items()]
        if "adaptive" in entry:
            out.append(f"| {entry['adaptive']} | {entry['adaptive_return']:.2f} |")
        out.append("")
    return "\n".join(out)
