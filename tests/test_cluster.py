"""Training and trials beyond one machine: RLlib trains a therapist on the registered
environment (a local Ray cluster of 2 CPUs), and both RLlib and `rehabgym trial` run on a
two-node cluster (two raylets on this machine, `ray.cluster_utils.Cluster`) whose head has no
CPU, so every env runner and every chunk runs on the other node and only what it returns
reaches the driver."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster
from test_trials import SMALL

import rehabgym  # noqa: F401  (registers the environments)
from rehabgym.config import load_config
from rehabgym.trials import TrialConfig, run_trial, write_report

AGENT = Path(__file__).resolve().parents[1] / "agents" / "rllib_ppo.py"
TINY = '{"start_day": 2, "repetition_levels": [2, 4]}'


def _agent():  # noqa: ANN202 - the script as a module
    spec = importlib.util.spec_from_file_location("rllib_ppo", AGENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train(out: Path) -> dict:
    return _agent().main(["--iterations", "2", "--env-runners", "1", "--horizon", "3",
                          "--env-config", TINY, "--out", str(out)])


def test_rllib_trains_on_a_local_cluster_and_saves_a_checkpoint(tmp_path: Path) -> None:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = _train(tmp_path)
    finally:
        ray.shutdown()
    assert len(summary["episode_return_mean"]) == 2
    assert Path(summary["checkpoint"]).is_dir() and any(Path(summary["checkpoint"]).iterdir())
    assert json.loads((tmp_path / "results.json").read_text()) == summary


@pytest.fixture(scope="module")
def two_nodes():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    cluster.add_node(num_cpus=2)
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_rllib_trains_on_the_other_node_of_a_two_node_cluster(tmp_path: Path,
                                                               two_nodes: Cluster) -> None:
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    summary = _train(tmp_path)
    assert len(summary["episode_return_mean"]) == 2
    assert Path(summary["checkpoint"]).is_dir()  # written by the driver


def test_a_trial_on_a_two_node_cluster_is_the_local_trial(tmp_path: Path,
                                                          two_nodes: Cluster) -> None:
    cfg = load_config(TrialConfig, SMALL)
    local, remote = tmp_path / "local", tmp_path / "remote"
    write_report(run_trial(cfg, local, workers=1, progress=False), local)
    write_report(run_trial(cfg, remote, backend="ray", workers=2, address=two_nodes.address,
                           progress=False), remote)
    assert (remote / "patients.csv").read_bytes() == (local / "patients.csv").read_bytes()
