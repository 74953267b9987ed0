"""The healthy criteria: does a cortex reach like a healthy adult (`rehabgym evaluate-healthy`)?

Closed-loop reaches to the 8 center-out targets with noise on, scored against the kinematics of
healthy reaching (Morasso 1981; Flash & Hogan 1985), with the center-out figure and the sheet.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from torch.utils.tensorboard import SummaryWriter

from rehabgym.arm import ArmConfig
from rehabgym.atomic import write_text
from rehabgym.cortex.figures import plot_sheet
from rehabgym.cortex.network import Cortex
from rehabgym.reaching.figures import plot_center_out
from rehabgym.reaching.loop import ClosedLoop
from rehabgym.reaching.targets import center_out_targets


def check_healthy(cortex: Cortex, arm_config: ArmConfig, out: Path | None = None,
                     seed: int = 0, repeats: int = 4, verbose: bool = True) -> dict:
    """Closed-loop reaches to the 8 center-out targets (noise on) against the healthy criteria.

    Criteria (Morasso 1981; Flash & Hogan 1985): endpoint error < 1 cm on average and < 1.5 cm
    on the worst target, success on >= 95 % of reaches, path length / straight distance <= 1.15,
    one speed peak on >= 7 of 8 targets. Saves the center-out figure and the sheet under `out`.
    """
    loop = ClosedLoop(cortex, arm_config)
    targets = np.tile(center_out_targets(loop.start, 8, 0.10), (repeats, 1))
    res = loop.run(targets, 1.0, seed=seed)
    m = res.metrics()
    err = m.endpoint_error.reshape(repeats, 8)
    peaks = m.n_speed_peaks.reshape(repeats, 8)
    one_peak = int((np.median(peaks, axis=0) == 1).sum())
    figures = {
        "endpoint_error_cm": 100 * float(err.mean()),
        "worst_target_error_cm": 100 * float(err.mean(0).max()),
        "success_rate": float(m.success.mean()),
        "path_ratio": float(np.nanmean(m.path_ratio)),
        "targets_with_one_speed_peak": one_peak,
        "peak_speed": float(np.nanmean(m.peak_speed)),
        "movement_time": float(np.nanmean(m.movement_time)),
    }
    checks = {
        "endpoint_error_cm": figures["endpoint_error_cm"] < 1.0,
        "worst_target_error_cm": figures["worst_target_error_cm"] < 1.5,
        "success_rate": figures["success_rate"] >= 0.95,
        "path_ratio": figures["path_ratio"] <= 1.15,
        "targets_with_one_speed_peak": one_peak >= 7,
    }
    figures["passed"] = all(checks.values())
    if verbose:
        print(f"healthy reaching (8 targets x {repeats}, noise on):")
        for k, v in figures.items():
            if k != "passed":
                mark = "" if k not in checks else ("  ok" if checks[k] else "  FAIL")
                print(f"  {k:30s} {v:8.3f}{mark}" if isinstance(v, float) else
                      f"  {k:30s} {v:8d}{mark}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        fig1 = plot_center_out(res.hand_position[:8], res.target[:8], loop.start, res.dt,
                               path=out / "healthy_reaches.png", title="healthy cortex")
        fig2 = plot_sheet(cortex.sheet, path=out / "cortical_sheet.png")
        with SummaryWriter(str(out)) as w:
            for k, v in figures.items():
                w.add_scalar(f"healthy/{k}", float(v), 0)
            w.add_figure("healthy/reaches", fig1, 0)
            w.add_figure("cortex/sheet", fig2, 0)
        write_text(out / "healthy.json", json.dumps(figures, indent=1))
    return figures
