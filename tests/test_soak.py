"""A long soak (slow): 1,000 days of random therapy on patients with mixed lesions.

Random directions, distances, assistance, rest days and sessions of up to `max_repetitions`
(log-uniform, so most are short and a few are the longest allowed). Checked every day: weights
finite and within [0, max_weight], Dale's law, dead stays dead and unconnected, scores in
[0, 100]; memory flat (RSS growth under 10 % after the first 20 days).

    pytest -m slow -k soak -s      # prints days, RSS at day 20 and at the end, time
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from rehabgym.cortex.lesion import Lesion
from rehabgym.patient import PatientBatch, PatientConfig, SessionPlan

LESIONS = [Lesion(focal_center=(1.0, 1.0), focal_radius=0.6, penumbra_width=0.2, seed=1),
           Lesion(diffuse_fraction=0.3, seed=2),
           Lesion(corticospinal_fraction=0.6, seed=3),
           Lesion(focal_center=(0.5, 1.5), focal_radius=0.3, diffuse_fraction=0.1,
                  corticospinal_fraction=0.3, seed=4)]


def rss_mb() -> float:
    """Resident memory of this process now (Linux), else its peak."""
    statm = Path("/proc/self/statm")
    if statm.is_file():
        return int(statm.read_text().split()[1]) * resource.getpagesize() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check(batch: PatientBatch, alive0: torch.Tensor) -> None:
    brains, top = batch.brains, batch.config.plasticity.max_weight
    assert brains.dale_ok() and brains.dead_disconnected()
    assert torch.equal(brains.alive, alive0)  # dead stays dead
    for key in ("mag_rec", "mag_out"):
        t = getattr(brains.state, key)
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= top
    assert ((batch.scores >= 0) & (batch.scores <= 100)).all()


def soak(days: int, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    cfg = PatientConfig()
    batch = PatientBatch(LESIONS, cfg, seed=seed)
    alive0 = batch.brains.alive.clone()
    t0, rss = time.perf_counter(), {}
    for day in range(1, days + 1):
        plans = []
        for _ in LESIONS:
            if rng.random() < 0.2:
                plans.append(SessionPlan())  # a rest day
                continue
            k = int(rng.integers(1, 9))
            reps = int(np.exp(rng.uniform(0, np.log(cfg.max_repetitions))))
            plans.append(SessionPlan(tuple(int(d) for d in rng.choice(8, k, replace=False)),
                                     reps, float(rng.uniform(0.02, 0.2)),
                                     float(rng.uniform(0, 1))))
        batch.practice(plans)
        batch.rest(1)
        check(batch, alive0)
        if day in (20, days):
            rss[day] = rss_mb()
    return {"days": days, "rss_day20_mb": rss[20], "rss_end_mb": rss[days],
            "growth": rss[days] / rss[20] - 1, "seconds": time.perf_counter() - t0,
            "final_scores": [round(float(s), 1) for s in batch.scores]}


@pytest.mark.slow
def test_a_thousand_days_of_random_therapy_stay_sound_and_flat_in_memory() -> None:
    out = soak(1000)
    print(f"\nsoak: {out}")
    assert out["growth"] < 0.10
