"""The benchmarks' own mechanics: the sides of a ratio take turns, pinning is undone."""

from __future__ import annotations

import os

import pytest

import rehabgym.bench as bench
from rehabgym.bench import _best_of_each, bench_patient
from rehabgym.cli import build_parser


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
    rows = bench.bench_all(verbose=False)
    measured = {r["target"]: r["measured"] for r in rows}
    assert measured == {"—": "0.90", "<= 2x": "1.80x", "<= 0.25 s": "0.200 s",
                        "<= 1.25x": "1.20x", ">= 3x": "1.10x", "<= 10 MB": "9.4 MB"}
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
