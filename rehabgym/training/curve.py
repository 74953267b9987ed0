"""A run's learning curve: the held-out final score of the policy through training, beside the
reference therapists', read back from the run's TensorBoard events.

Read from the events rather than kept in memory, so that a resumed run's curve is the whole
run's: TensorBoard's reader drops what an interrupted run logged after its checkpoint (the
purge marker `train` writes), and the resumed run's points follow.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rehabgym.atomic import atomic_open, atomic_path

#: the agent's held-out final score and the references' (`training/callbacks.py`)
AGENT_TAG = "recovery/final_score"
REFERENCE_PREFIX = "reference/final_score/"


def read_curves(run: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"agent" or a reference's name: (training days, mean held-out final score)}; empty when
    the run logged no evaluation."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    curves = {}
    for tag in events.Tags().get("scalars", []):
        if tag == AGENT_TAG:
            name = "agent"
        elif tag.startswith(REFERENCE_PREFIX):
            name = tag[len(REFERENCE_PREFIX):]
        else:
            continue
        points = {e.step: e.value for e in events.Scalars(tag)}  # a step logged twice: last
        steps = np.array(sorted(points), dtype=np.int64)
        curves[name] = (steps, np.array([points[s] for s in steps], dtype=np.float64))
    return curves


def learning_curve_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]],
                          patients: int | None = None) -> Figure:
    """The agent's held-out final score by training days (points joined); each reference
    therapist as a dashed line at its score (its policy does not train)."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    steps, values = curves["agent"]
    ax.plot(steps, values, "o-", color="k", label="agent", zorder=3)
    references = [(name, ref) for name, (_, ref) in curves.items() if name != "agent" and len(ref)]
    for k, (name, ref) in enumerate(references):
        ax.axhline(float(ref[-1]), color=f"C{k}", linestyle="--", linewidth=1.0, label=name)
    ax.set_xlabel("training days")
    ax.set_ylabel("held-out final score (mean)")
    who = f"{patients} held-out patients" if patients else "held-out patients"
    ax.set_title(f"learning curve: the policy on {who}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def save_learning_curve(run: Path, patients: int | None = None) -> bool:
    """Write `learning_curve.csv` (therapist, training days, final score) and
    `learning_curve.png` into the run folder; False (nothing written) without evaluations."""
    run = Path(run)
    curves = read_curves(run)
    if "agent" not in curves or not len(curves["agent"][0]):
        return False
    with atomic_open(run / "learning_curve.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["therapist", "training_days", "final_score"])
        for name, (steps, values) in curves.items():
            writer.writerows([name, int(s), f"{v:.4f}"] for s, v in zip(steps, values))
    fig = learning_curve_figure(curves, patients)
    with atomic_path(run / "learning_curve.png") as tmp:
        fig.savefig(tmp, dpi=110)
    return True
