"""`rehabgym validate`: does the virtual patient behave like real patients?

Runs a virtual cohort through the experiments and prints the phenomena table of the design
(the rows of the registry, `registry.py`): for each row the measured effect with its 95 %
confidence interval, the expectation and its source, and pass/fail, each tested at α = 0.05.

- natural history: the cohort (one stroke unit's admissions, mild to severe) with no therapy
  (rows 1, 2, 3, 8, 9);
- therapy: the same moderate patients under several schedules, side by side in one batch:
  no therapy, uniform practice early / late, other doses early, one direction only (rows 4-6);
- threshold: the whole cohort practises from `threshold_start`, then is followed without
  therapy (row 7);
- therapist: fixed schedules on held-out patients (row 10);
- challenge: a mild and a severe cohort practise at every distance × assistance level beside
  their own controls (rows 11, 12).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from rehabgym.atomic import atomic_path, write_text
from rehabgym.config import save_config
from rehabgym.cortex.lesion import Lesion
from rehabgym.cortex.plasticity import RULES
from rehabgym.healthy.checkpoint import checkpoint_digest
from rehabgym.patient import sample_cohort
from rehabgym.phenomena import challenge as ch
from rehabgym.phenomena import natural_history as nh
from rehabgym.phenomena import therapy as th
from rehabgym.phenomena import threshold
from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.data import PhenomenaData
from rehabgym.phenomena.natural_history import Progress
from rehabgym.phenomena.registry import (
    EXPERIMENTS,
    NEEDS_THERAPIST,
    Phenomenon,
    experiments_of,
    registered,
)
from rehabgym.phenomena.table import Row, curves, markdown
from rehabgym.phenomena.therapist import therapist_finals
from rehabgym.stages import Stages


def overview_figure(nat: nh.NaturalHistory, ther: th.TherapyResult) -> Figure:
    """Three panels for the README: recovery curves, proportional recovery, schedules."""
    fig = Figure(figsize=(13, 3.8))
    ax = fig.subplots(1, 3)
    curves(ax[0], nat.score)
    ax[0].set(xlabel="days since stroke", ylabel="motor score", title="spontaneous recovery")
    s3 = nat.score
    ax[1].scatter(100 - s3[0], s3[-1] - s3[0])
    ax[1].plot([0, 100], [0, 70], "r--", label="0.7 × impairment")
    ax[1].set(xlabel="initial impairment", ylabel="recovery", title="proportional recovery")
    ax[1].legend()
    for i, name in enumerate(ther.arms):
        ax[2].plot(ther.score[:, i].mean(1), label=name)
    ax[2].set(xlabel="days since stroke", ylabel="motor score", title="therapy schedules")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


def save_table(cfg: ValidateConfig, rows: list[Row], figures: dict[str, Figure], table: str,
               out: Path) -> None:
    """Config, table (Markdown, JSON), one PNG per figure; the figures, the table and each
    row's pass/fail (`phenomena/passed` at step = row number) also to TensorBoard in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    write_text(out / "phenomena.md", table + "\n")
    write_text(out / "phenomena.json", json.dumps(
        [{"row": r.number, "phenomenon": r.phenomenon, "passed": r.passed,
          "margin": r.margin, "measured": r.measured, "values": r.values} for r in rows],
        indent=1, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v))
    with SummaryWriter(str(out)) as w:
        w.add_text("phenomena/table", table)
        for r in rows:
            w.add_scalar("phenomena/passed", float(r.passed), r.number)
            w.add_scalar("phenomena/margin", r.margin, r.number)
        for name, fig in figures.items():
            with atomic_path(out / f"{name}.png") as tmp:
                fig.savefig(tmp, dpi=110)
            w.add_figure(f"phenomena/{name}", fig, 0, close=False)


def _therapy_patients(cfg: ValidateConfig, nat: nh.NaturalHistory) -> list[int]:
    """The most moderate patients of the cohort (impairment nearest 45 points)."""
    imp = 100 - nat.score[0]
    order = np.argsort(np.abs(imp - 45))
    return sorted(order[: cfg.therapy_patients])


def selected_rows(ablate: str | None = None, rows: Iterable[int] | None = None
                  ) -> list[Phenomenon]:
    """The rows a validate run measures: every registered row, or those numbered `rows`; under
    an ablation, less those that need a therapist (an ablation asks what a rule does for the
    patient). An error naming the registered rows for a number none of them has."""
    every = registered(without=(NEEDS_THERAPIST,) if ablate is not None else ())
    if rows is None:
        return every
    known = {p.number for p in every}
    unknown = sorted(set(rows) - known)
    if unknown:
        why = f" under --ablate {ablate}" if ablate is not None else ""
        raise ValueError(f"rows: {unknown} not measured{why}; allowed: {sorted(known)}")
    return [p for p in every if p.number in set(rows)]


def phenomena_rows(cfg: ValidateConfig, data: PhenomenaData,
                   rows: list[Phenomenon] | None = None) -> list[Row]:
    """Each registered row (or `rows`) whose experiment `data` holds, judged by its criterion."""
    out = []
    for p in rows if rows is not None else registered():
        if _measured(data, p.experiment):
            row = p.criterion(cfg, data)
            if row.number != p.number:
                raise ValueError(f"row {p.number} ({p.name}): its criterion made row {row.number}")
            out.append(row)
    return out


def _measured(data: PhenomenaData, experiment: str) -> bool:
    return getattr(data, FIELDS[experiment]) is not None


def phenomena_figures(cfg: ValidateConfig, data: PhenomenaData, rows: list[Row]
                      ) -> dict[str, Figure]:
    """The figure of each row in `rows` that has one, and the README's overview."""
    by_number = {p.number: p for p in registered()}
    figures = {}
    for row in rows:
        p = by_number[row.number]
        if p.figure is not None:
            figures[p.figure_name] = p.figure(cfg, data, row)
    if data.nat is not None and data.ther is not None:
        figures["phenomena"] = overview_figure(data.nat, data.ther)
    return figures


def stage_key(cfg: ValidateConfig, ablate: str | None) -> dict:
    """What a run's stages are kept under: its resolved (ablated) config less the rows chosen
    (an experiment does not depend on them), the ablation and the healthy checkpoint's digest."""
    return {"config": replace(cfg, rows=None), "ablate": ablate,
            "checkpoint": checkpoint_digest(cfg.patient.checkpoint)}


def validate(cfg: ValidateConfig, out: Path | None = None, ablate: str | None = None,
             progress: bool = True, workers: int = 1) -> list[Row]:
    """Run the cohort, print the table, save table/figures/config under `out`.

    Each experiment, once finished, is kept in `out/stages/`: run again with the same `out`
    and config, a killed validate continues after the experiments it had finished. With
    `workers` > 1 the experiments run on that many processes (`measure_in_processes`)."""
    def bar(it: Iterable, desc: str) -> Iterable:
        return tqdm(it, desc=desc, disable=not progress, leave=False)

    if ablate is not None:
        if ablate not in RULES:
            raise ValueError(f"ablate: unknown rule {ablate!r}; allowed: {list(RULES)}")
        cfg = replace(cfg, patient=replace(cfg.patient,
                                           plasticity=cfg.patient.plasticity.without(ablate)))
    selected = selected_rows(ablate, cfg.rows)
    experiments = experiments_of(selected)
    stages = Stages(out, stage_key(cfg, ablate), "rehabgym validate")
    computed = (measure_in_processes(cfg, stages, workers, experiments, progress)
                if workers > 1 else None)
    data = measure(cfg, stages, bar, experiments, computed=computed)
    rows = phenomena_rows(cfg, data, selected)
    table = markdown(rows)
    title = f"Phenomena ({cfg.n_patients} patients" + (f", ablated: {ablate}" if ablate else "")
    print(f"{title}, seed {cfg.seed})\n{table}")
    if out is not None:
        save_table(cfg, rows, phenomena_figures(cfg, data, rows), table, out)
    return rows


#: the field of `PhenomenaData` that holds each experiment's result
FIELDS = {"natural_history": "nat", "therapy": "ther", "threshold": "ther_all",
          "therapist": "finals", "challenge": "chal"}


def _experiment(cfg: ValidateConfig, name: str, lesions: list[Lesion], bar: Progress,
                nat: nh.NaturalHistory | None = None) -> dict[str, np.ndarray]:
    """Experiment `name`'s arrays (the therapy experiment needs the natural history's)."""
    if name == "natural_history":
        return nh.natural_history(cfg, lesions, bar).to_arrays()
    if name == "therapy":
        assert nat is not None
        chosen = _therapy_patients(cfg, nat)
        return th.therapy_experiment(cfg, [lesions[i] for i in chosen], bar,
                                     seeds=[cfg.seed + int(i) for i in chosen]).to_arrays()
    if name == "threshold":
        return threshold.threshold_experiment(cfg, lesions, bar).to_arrays()
    if name == "therapist":
        return therapist_finals(cfg)
    return ch.challenge_experiment(cfg, bar).to_arrays()


def measure(cfg: ValidateConfig, stages: Stages, bar: Progress,
            experiments: list[str] | None = None,
            computed: dict[str, dict[str, np.ndarray]] | None = None) -> PhenomenaData:
    """The `experiments` of validate (default: all), each a stage of `stages` (read back if
    finished, taken from `computed` if there); the others are None in the record."""
    experiments = list(EXPERIMENTS if experiments is None else experiments)
    lesions = sample_cohort(cfg.cohort, cfg.n_patients, cfg.seed)
    computed = computed or {}

    def get(name: str, nat: nh.NaturalHistory | None = None) -> dict[str, np.ndarray] | None:
        if name not in experiments:
            return None
        if name in computed:
            return computed[name]
        return stages.arrays(name, lambda: _experiment(cfg, name, lesions, bar, nat))

    history = get("natural_history")
    nat = None if history is None else nh.NaturalHistory.from_arrays(history)
    ther, ther_all, chal = get("therapy", nat), get("threshold"), get("challenge")
    return PhenomenaData(
        lesions, nat, None if ther is None else th.TherapyResult.from_arrays(ther),
        None if ther_all is None else th.TherapyResult.from_arrays(ther_all),
        get("therapist"), None if chal is None else ch.ChallengeResult.from_arrays(chal))


def _no_bar(it: Iterable, desc: str) -> Iterable:
    return it


def _experiments_in_worker(cfg: ValidateConfig, names: list[str],
                           nat: dict[str, np.ndarray] | None) -> dict[str, dict[str, np.ndarray]]:
    """Experiments `names` in order, in a worker process on one thread (the natural
    history's arrays given, or computed first when the therapy experiment needs them)."""
    cfg = replace(cfg, patient=replace(cfg.patient, nthread=1))
    lesions = sample_cohort(cfg.cohort, cfg.n_patients, cfg.seed)
    history = None if nat is None else nh.NaturalHistory.from_arrays(nat)
    out = {}
    for name in names:
        out[name] = _experiment(cfg, name, lesions, _no_bar, history)
        if name == "natural_history":
            history = nh.NaturalHistory.from_arrays(out[name])
    return out


def measure_in_processes(cfg: ValidateConfig, stages: Stages, workers: int,
                         experiments: list[str] | None = None, progress: bool = True
                         ) -> dict[str, dict[str, np.ndarray]]:
    """validate's unfinished experiments on `workers` spawned processes, one thread each, each
    stage saved as it finishes; their arrays. The therapy experiment follows the natural
    history in one task (it treats the cohort's most moderate patients); the others are
    tasks of their own. A patient does not depend on the thread it runs on, so the table is
    the one-process table to the digit."""
    names = list(EXPERIMENTS if experiments is None else experiments)
    done = {n: a for n in names if (a := stages.load_arrays(n)) is not None}
    first = ("natural_history", "therapy")
    chain = [n for n in first if n in names and n not in done]
    tasks = ([chain] if chain else []) + [[n] for n in names if n not in first and n not in done]
    computed: dict[str, dict[str, np.ndarray]] = {}
    with ProcessPoolExecutor(min(workers, len(tasks)) or 1, mp_context=get_context("spawn")
                             ) as pool, tqdm(total=len(names), initial=len(done),
                                             desc="experiments", disable=not progress) as bar:
        futures = [pool.submit(_experiments_in_worker, cfg, task,
                               done.get("natural_history") if task[0] == "therapy" else None)
                   for task in tasks]
        for future in as_completed(futures):
            for name, arrays in future.result().items():
                stages.save_arrays(name, arrays)
                computed[name] = arrays
                bar.update(1)
    return computed
