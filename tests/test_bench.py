"""The benchmarks' own mechanics: the sides of a ratio take turns, pinning is undone."""

from __future__ import annotations

import os

import numpy as np
import pytest

import rehabgym.bench as bench
from rehabgym.arm import Arm
from rehabgym.bench import _best_of_each, bench_patient
from rehabgym.cli import build_parser
from rehabgym.healthy.checkpoint import load_checkpoint
from rehabgym.reaching.loop import ClosedLoop, recording_arms
from rehabgym.reaching.targets import center_out_targets


def test_sides_take_turns_and_the_fastest_time_is_kept() -> None:
    calls: list[str] = []
    best = _best_of_each({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3)
    assert calls == ["a", "b"] * 4  # one warm-up round, then three rounds taking turns
    assert set(best) == {"a", "b"} and all(0 <= t < 1 for t in best.values())


def test_bench_patient_reports_its_ratio_and_unpins() -> None:
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    out = bench_patient(days=1, reps=4, verbose=False)
    assert out["one_core"] and out["seconds_per_day"] > 0
    assert out["plasticity_cost_ratio"] == pytest.approx(
        out["plastic_seconds_per_day"] / out["frozen_seconds_per_day"])
    if before is not None:
        assert os.sched_getaffinity(0) == before


def test_bench_patient_rejects_a_bad_day_count() -> None:
    with pytest.raises(ValueError, match="days"):
        bench_patient(days=0, verbose=False)


def test_bench_without_subcommand_runs_all_and_reports_each_against_its_target(
        monkeypatch, capsys) -> None:
    assert build_parser().parse_args(["bench"]).func.__name__ == "_run_bench_all"
    monkeypatch.setattr(bench, "bench_arm", lambda verbose: [{"batch": 64, "ratio": 0.9}])
    monkeypatch.setattr(bench, "bench_cortex", lambda verbose: {"ratio_to_arm": 1.8})
    monkeypatch.setattr(bench, "bench_patient", lambda verbose: {
        "seconds_per_day": 0.2, "plasticity_cost_ratio": 1.2})
    monkeypatch.setattr(bench, "bench_env", lambda verbose: {"num_envs": 16, "ratio": 1.1})
    monkeypatch.setattr(bench, "bench_memory", lambda verbose: {"mb_per_patient": 9.44})
    monkeypatch.setattr(bench, "bench_train", lambda verbose: {
        "n_envs": 16, "shard": 8, "env_config": None, "ratio": 0.85})
    monkeypatch.setattr(bench, "bench_floor", lambda num_envs, config, verbose: {
        "num_envs": num_envs, "ratio": 1.6})
    rows = bench.bench_all(verbose=False)
    measured = {r["target"]: r["measured"] for r in rows}
    assert measured == {"—": "0.90", "<= 2x": "1.80x", "<= 0.25 s": "0.200 s",
                        "<= 1.25x": "1.20x", ">= 3x": "1.10x", "<= 10 MB": "9.4 MB",
                        "<= 1.3x": "1.60x", ">= 0.8": "0.85"}
    assert "1.20x" in capsys.readouterr().out


def test_bench_memory_grows_with_the_batch_and_rejects_one_size() -> None:
    out = bench.bench_memory(sizes=(1, 16), days=1, reps=16, verbose=False)
    for key in ("worker", "default"):
        peaks = out[key]["peak_mb"]
        assert peaks[1] > peaks[0] > 100  # a process holds torch and a cortex
        assert 0 < out[key]["mb_per_patient"] < 40
    assert out["mb_per_patient"] == out["worker"]["mb_per_patient"]
    with pytest.raises(ValueError, match="sizes"):
        bench.bench_memory(sizes=(4, 4), verbose=False)


def test_the_arm_alone_replays_the_closed_loop_reaches_exactly() -> None:
    """The floor's arm side steps the same arms through the same reaches: replaying a run's
    recorded excitations (and assistance) ends every arm where the closed loop ended it."""
    cortex, arm_cfg = load_checkpoint()
    loop = ClosedLoop(cortex, arm_cfg, nthread=1)
    targets = center_out_targets(loop.start, 8, 0.1)
    with recording_arms() as traces:
        res = loop.run(targets, 0.3, assist_gain=np.linspace(0, 150, 8))
    assert len(traces) == 1 and traces[0].excitation.shape == (8, 30, 6)
    loop.run(targets, 0.1)  # outside the block: not recorded
    assert len(traces) == 1
    arm = Arm(arm_cfg, batch_size=1)
    assert bench._replay(arm, traces) == pytest.approx(8 * 0.3)
    np.testing.assert_array_equal(arm.get_physics_state()[:, 1:3], res.joint_angle[:, -1])


def test_bench_floor_and_train_report_their_ratios() -> None:
    env = {"horizon_days": 1, "start_day": 1, "repetition_levels": [2, 4]}
    floor = bench.bench_floor(num_envs=2, config=env, verbose=False)
    assert floor["patient_days"] == 2 and floor["arm_seconds"] > 2 * 16  # assessments at least
    assert floor["ratio"] == pytest.approx(floor["arm_days_per_s"] / floor["env_days_per_s"])
    train = bench.bench_train({"env_config": env, "n_envs": 2, "eval_every": 0,
                               "hyperparameters": {"n_steps": 2, "batch_size": 4,
                                                   "n_epochs": 1}}, rounds=1, verbose=False)
    assert train["patient_days"] == 4 and train["train_days_per_s"] > 0
    assert train["env_config"].horizon_days == 1 and train["env_config"].start_day == 1
    assert train["ratio"] == pytest.approx(train["train_days_per_s"] / train["env_days_per_s"])
    with pytest.raises(ValueError, match="rounds"):
        bench.bench_train(rounds=0, verbose=False)
