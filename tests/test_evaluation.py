"""Cohort evaluation: paired, read back, the same patients for every therapist."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rehabgym  # noqa: F401  (registers the environments)
from fake_env import FAKE_ID
from rehabgym.evaluation import compare_therapists, engine, env_make_kwargs, run_cohort
from rehabgym.evaluation.cohort import CohortResult
from rehabgym.evaluation.report import read_csv, return_table, severity_table, summarize
from rehabgym.therapists import HEURISTICS, heuristic_factory


def test_evaluation_is_paired_and_read_back(tmp_path: Path) -> None:
    rows = compare_therapists(["worst_first"], 5, tmp_path, env_id=FAKE_ID,
                    env_kwargs={"config": {"horizon_days": 6}}, baselines=["no_therapy",
                                                                           "random"])
    assert [r["therapist"] for r in rows] == ["worst_first", "no_therapy", "random"]
    back = read_csv(tmp_path / "evaluation.csv")
    assert float(back[1]["p"]) < 0.05  # practising beats resting on every toy patient
    assert float(back[0]["final_score"]) > float(back[1]["final_score"])
    patients = read_csv(tmp_path / "patients.csv")
    assert len(patients) == 15
    assert {p["seed"] for p in patients if p["therapist"] == "random"} == \
        {p["seed"] for p in patients if p["therapist"] == "worst_first"}
    treated = [p for p in patients if p["therapist"] == "worst_first"]
    gain = np.mean([float(p["final_score"]) - float(p["initial_score"]) for p in treated])
    assert gain > 0 and float(back[0]["return"]) == pytest.approx(gain)  # toy reward: the gain
    for fig in ("recovery_curves.png", "final_scores.png", "schedule.png"):
        assert (tmp_path / fig).stat().st_size > 0
    table = (tmp_path / "evaluation.md").read_text().splitlines()
    own, other = (next(line for line in table if line.startswith(f"| {name} |"))
                  for name in ("worst_first", "no_therapy"))
    assert own.endswith("| — | — |")  # no difference of a therapist with itself
    assert f"{float(back[1]['primary_minus_this']):.2f} ± " in other


def test_same_patients_for_every_therapist() -> None:
    res = run_cohort({n: (lambda s, seed, n=n: HEURISTICS[n](s, seed=seed))
                      for n in ("no_therapy", "worst_first")}, FAKE_ID, {}, [7, 8, 9])
    np.testing.assert_array_equal(res["no_therapy"].initial, res["worst_first"].initial)
    assert res["no_therapy"].scores.shape == (3, 6)


TINY_ENV = {"horizon_days": 3, "start_day": 2, "repetition_levels": [2, 4], "cohort": "mixed"}


def test_a_therapists_results_do_not_depend_on_the_others_compared() -> None:
    kwargs = env_make_kwargs(TINY_ENV, {"action_type": "multidiscrete"})
    plan = {n: heuristic_factory(n) for n in ("random", "round_robin")}
    alone = run_cohort({"random": plan["random"]}, "rehabgym/Therapy-v2", kwargs, [3, 4])
    both = run_cohort(plan, "rehabgym/Therapy-v2", kwargs, [3, 4])
    np.testing.assert_array_equal(alone["random"].scores, both["random"].scores)
    np.testing.assert_array_equal(alone["random"].actions, both["random"].actions)


def test_a_killed_evaluation_continues_after_its_finished_therapists(tmp_path: Path,
                                                                      monkeypatch, capsys):
    kwargs = {"env_id": FAKE_ID, "env_kwargs": {"config": {"horizon_days": 4}},
              "baselines": ["no_therapy", "random"]}
    whole = compare_therapists(["worst_first"], 3, tmp_path / "whole", **kwargs)
    real, calls = engine.run_batch, []

    def dies_on_the_third_therapist(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return real(*args, **kw)

    with monkeypatch.context() as m:
        m.setattr(engine, "run_batch", dies_on_the_third_therapist)
        with pytest.raises(Killed):
            compare_therapists(["worst_first"], 3, tmp_path / "killed", **kwargs)
    capsys.readouterr()
    again = compare_therapists(["worst_first"], 3, tmp_path / "killed", **kwargs)
    assert "2 of 3 therapy chunks finished in an earlier run" in capsys.readouterr().err
    assert again == whole


class Killed(BaseException):
    """Stands in for the process dying."""


def test_evaluate_gives_the_same_report_in_process_and_on_ray(tmp_path: Path) -> None:
    import ray

    kwargs = {"env_kwargs": {"config": TINY_ENV}, "baselines": ["no_therapy"], "max_batch": 1}
    here = compare_therapists(["worst_first"], 2, tmp_path / "here", workers=1, **kwargs)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        there = compare_therapists(["worst_first"], 2, tmp_path / "ray", backend="ray",
                                   **kwargs)
    finally:
        ray.shutdown()
    assert [r["therapist"] for r in there] == [r["therapist"] for r in here]
    for name in ("patients.csv", "evaluation.csv"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
    assert len(list((tmp_path / "ray" / "stages").glob("therapy_*.npz"))) == 4  # 2 x 2 chunks


def _result(name: str, initial: np.ndarray, gain: np.ndarray) -> CohortResult:
    n = len(initial)
    scores = np.stack([initial, initial + gain], axis=1)
    return CohortResult(name=name, seeds=np.arange(n), scores=scores,
                        profiles=np.zeros((n, 2, 8)), actions=np.zeros((n, 1, 4), dtype=int),
                        rewards=gain[:, None].copy(), dose=np.zeros(n))


def test_the_report_tests_the_return_and_breaks_scores_down_by_acute_severity() -> None:
    initial = np.array([20.0, 30.0, 50.0, 60.0, 65.0, 80.0, 90.0])
    noise = np.array([0.1, -0.2, 0.3, 0.0, -0.1, 0.2, -0.3])
    results = {"a": _result("a", initial, 5.0 + noise),
               "b": _result("b", initial, 1.0 + noise[::-1])}
    rows = summarize(results)
    assert rows[1]["return_minus_this"] == pytest.approx(4.0) and rows[1]["return_p"] < 1e-4
    table = severity_table(results)
    head = table.splitlines()[0]
    assert "severe (< 40): n = 2" in head and "moderate (40-70): n = 3" in head
    assert "mild (>= 70): n = 2" in head
    assert table.splitlines()[3].count("a − this +") == 3
    assert "| return (95 % CI) |" in return_table(rows)
