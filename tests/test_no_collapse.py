"""Practice does not destroy a patient (the v1 defect that the graded outcome removes).

On v1, unassisted practice at 6 cm took two mixed-cohort patients far below their untreated
selves (82013: 68 -> 8 points in 30 days, untreated 75; 82002: 19 below): their reaches all
failed, success carried no signal, and the daily rules drifted them down. With the graded
outcome beside success each ends near or above its control; without it the collapse is back.
"""

from __future__ import annotations

import numpy as np
import pytest

from rehabgym.evaluation.cohort import run_batch
from rehabgym.therapists import heuristic_factory

SEEDS = [82002, 82013]
HARD = "worst_first(distance=0, assistance=0, reps=2)"  # 6 cm, unassisted, 60 reps a day


def finals(graded: bool) -> tuple[np.ndarray, np.ndarray]:
    """Day-35 scores of the two patients untreated and under 30 days of HARD."""
    kw = {"config": {"cohort": "mixed", "all_directions": True, "horizon_days": 30,
                     "patient": {"plasticity": {"graded": graded}}},
          "max_episode_steps": 30}
    rows = run_batch([heuristic_factory("no_therapy")] * 2 + [heuristic_factory(HARD)] * 2,
                     SEEDS * 2, "rehabgym/Therapy-v2", kw)
    end = np.array([r["scores"][-1] for r in rows])
    return end[:2], end[2:]


@pytest.mark.slow
def test_hard_unassisted_practice_does_not_collapse_a_patient() -> None:
    control, treated = finals(True)
    assert np.all(treated > control - 10), (control, treated)
    control, treated = finals(False)  # v1's rule: the collapse
    assert np.any(treated < control - 15), (control, treated)
