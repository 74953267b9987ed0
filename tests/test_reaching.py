"""Targets and reach metrics on synthetic trajectories."""

from __future__ import annotations

import numpy as np
import pytest

from rehabgym.reaching import (
    ReachConfig,
    center_out_targets,
    direction_angles,
    reach_metrics,
)
from rehabgym.reaching.figures import plot_center_out

DT = 0.01
T = np.arange(101) * DT  # a 1 s trial


def _min_jerk(t: np.ndarray, t0: float, dur: float) -> tuple[np.ndarray, np.ndarray]:
    s = np.clip((t - t0) / dur, 0, 1)
    pos = 10 * s**3 - 15 * s**4 + 6 * s**5
    vel = (30 * s**2 - 60 * s**3 + 30 * s**4) / dur
    return pos, vel


def _reach(shape: np.ndarray, dshape: np.ndarray, start, target):
    start, target = np.asarray(start, float), np.asarray(target, float)
    pos = start + (target - start) * shape[:, None]
    vel = (target - start) * dshape[:, None]
    return pos[None], vel[None], start[None], target[None]


def test_center_out_targets() -> None:
    c = np.array([0.0, 0.45])
    tg = center_out_targets(c, 8, 0.1)
    assert tg.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(tg - c, axis=1), 0.1)
    np.testing.assert_allclose(tg[0], c + [0.1, 0.0])
    np.testing.assert_allclose(tg[2], c + [0.0, 0.1], atol=1e-15)  # counter-clockwise
    np.testing.assert_allclose(direction_angles(4), [0, np.pi / 2, np.pi, 3 * np.pi / 2])


@pytest.mark.parametrize(
    "kwargs,name",
    [({"center": [0.0]}, "center"), ({"center": [0, np.nan]}, "center"),
     ({"center": [0, 0], "n": 0}, "n"), ({"center": [0, 0], "radius": -1.0}, "radius")],
)
def test_target_input_errors_name_argument(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        center_out_targets(**kwargs)


def test_reach_config_validates() -> None:
    with pytest.raises(ValueError, match="success_tolerance"):
        ReachConfig(success_tolerance=0.0)
    with pytest.raises(ValueError, match="n_targets"):
        ReachConfig(n_targets=0)


def test_minimum_jerk_reach_is_one_straight_successful_peak() -> None:
    s, ds = _min_jerk(T, 0.1, 0.5)
    m = reach_metrics(*_reach(s, ds, [0, 0.45], [0.1, 0.45]), DT)
    assert m.n_speed_peaks[0] == 1
    assert m.path_ratio[0] == pytest.approx(1.0, abs=5e-3)  # pre-onset creep not counted
    assert m.success[0] and m.endpoint_error[0] < 1e-9
    assert m.peak_speed[0] == pytest.approx(1.875 * 0.1 / 0.5, rel=1e-3)
    assert 0.35 < m.movement_time[0] <= 0.5


def test_jitter_does_not_add_peaks() -> None:
    s, ds = _min_jerk(T, 0.1, 0.5)
    pos, vel, start, target = _reach(s, ds, [0, 0], [0.1, 0])
    vel = vel + np.random.default_rng(0).normal(0, 0.002, vel.shape)  # ~1 % of peak speed
    assert reach_metrics(pos, vel, start, target, DT).n_speed_peaks[0] == 1


def test_two_submovements_give_two_peaks() -> None:
    s1, d1 = _min_jerk(T, 0.05, 0.35)
    s2, d2 = _min_jerk(T, 0.35, 0.35)
    m = reach_metrics(*_reach(0.6 * s1 + 0.4 * s2, 0.6 * d1 + 0.4 * d2, [0, 0], [0.1, 0]), DT)
    assert m.n_speed_peaks[0] == 2
    assert m.success[0]


def test_curved_path_has_ratio_above_one() -> None:
    s, ds = _min_jerk(T, 0.1, 0.5)
    theta = np.pi * (1 - s)  # half circle from (0.1, 0) to (-0.1, 0)... shifted to start at 0
    pos = 0.05 * np.stack([np.cos(theta) + 1, np.sin(theta)], 1)
    vel = 0.05 * np.stack([np.sin(theta), -np.cos(theta)], 1) * (np.pi * ds)[:, None]
    m = reach_metrics(pos[None], vel[None], pos[None, 0], pos[None, -1], DT)
    assert m.path_ratio[0] == pytest.approx(np.pi / 2, rel=1e-2)
    assert m.n_speed_peaks[0] == 1


def test_stop_short_fails_with_endpoint_error() -> None:
    s, ds = _min_jerk(T, 0.1, 0.5)
    pos, vel, start, _ = _reach(0.7 * s, 0.7 * ds, [0, 0], [0.1, 0])
    m = reach_metrics(pos, vel, start, np.array([[0.1, 0.0]]), DT)
    assert m.endpoint_error[0] == pytest.approx(0.03, abs=1e-9)
    assert not m.success[0]
    assert m.path_ratio[0] == pytest.approx(0.7, abs=5e-3)


def test_still_moving_at_the_end_fails() -> None:
    s, ds = _min_jerk(T, 0.6, 0.5)  # still halfway at the end of the trial... move target there
    pos, vel, start, _ = _reach(s, ds, [0, 0], [0.1, 0])
    m = reach_metrics(pos, vel, start, pos[:, -1], DT)
    assert m.endpoint_error[0] == 0 and not m.success[0]


def test_never_moved_and_batch_summary() -> None:
    s, ds = _min_jerk(T, 0.1, 0.5)
    moved = _reach(s, ds, [0, 0], [0.1, 0])
    pos = np.concatenate([moved[0], np.zeros_like(moved[0])])
    vel = np.concatenate([moved[1], np.zeros_like(moved[1])])
    start = np.zeros((2, 2))
    target = np.array([[0.1, 0.0], [0.1, 0.0]])
    m = reach_metrics(pos, vel, start, target, DT)
    assert np.isnan(m.movement_time[1]) and np.isnan(m.path_ratio[1])
    assert m.n_speed_peaks[1] == 0 and not m.success[1]
    summary = m.summary()
    assert summary["success_rate"] == 0.5
    assert summary["endpoint_error"] == pytest.approx(0.05)
    assert summary["path_ratio"] == pytest.approx(1.0, abs=5e-3)
    assert all(isinstance(v, float) for v in summary.values())
    assert len(m.rows()) == 2


@pytest.mark.parametrize("which", ["hand_pos", "hand_vel", "start", "target", "dt"])
def test_metric_input_errors_name_argument(which: str) -> None:
    args = {"hand_pos": np.zeros((2, 5, 2)), "hand_vel": np.zeros((2, 5, 2)),
            "start": np.zeros((2, 2)), "target": np.ones((2, 2)), "dt": 0.01}
    args[which] = -1.0 if which == "dt" else np.zeros((3, 3))
    with pytest.raises(ValueError, match=which):
        reach_metrics(**args)


def test_center_out_figure(tmp_path) -> None:
    s, ds = _min_jerk(T, 0.1, 0.5)
    c = np.array([0.0, 0.45])
    tg = center_out_targets(c)
    pos = c + (tg - c)[:, None] * s[None, :, None]
    fig = plot_center_out(pos, tg, c, DT, path=tmp_path / "f.png", title="t")
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert len(fig.axes) == 2
