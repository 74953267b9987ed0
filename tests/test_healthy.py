"""The healthy cortex: the shipped checkpoint meets its criteria, pre-training is deterministic."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest
import torch

from rehabgym.cortex import Cortex, CortexConfig, SheetConfig
from rehabgym.healthy.checkpoint import SHIPPED, checkpoint_digest, load_checkpoint
from rehabgym.healthy.criteria import check_healthy
from rehabgym.healthy.pretrain import PretrainConfig, pretrain
from rehabgym.reaching.loop import N_INPUTS, ClosedLoop
from rehabgym.reaching.targets import center_out_targets


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_reaches_like_its_pretraining_run(name):
    cortex, arm_cfg = load_checkpoint(name)
    assert cortex.dale_ok()
    recorded = json.loads((resources.files("rehabgym") / "assets" / name.replace(".pt", ".json"))
                          .read_text())
    again = check_healthy(cortex, arm_cfg, verbose=False)
    for key in ("endpoint_error_cm", "worst_target_error_cm", "success_rate", "path_ratio",
                "targets_with_one_speed_peak"):
        assert again[key] == pytest.approx(recorded[key], abs=1e-6), key
    assert again["endpoint_error_cm"] < 1.0 and again["path_ratio"] <= 1.15


def test_pretraining_is_deterministic_and_learns(tmp_path):
    cfg = PretrainConfig(iterations=3, batch_center_out=1, batch_random=0, duration=0.3,
                         cortex=CortexConfig(sheet=SheetConfig(n_neurons=40)))
    a = pretrain(cfg, tmp_path / "a", progress=False)
    b = pretrain(cfg, tmp_path / "b", progress=False)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    assert a.dale_ok()
    fresh = Cortex(cfg.cortex, n_inputs=N_INPUTS)
    assert not torch.equal(fresh.w_out, a.w_out)  # the optimiser changed it
    loaded, _ = load_checkpoint(tmp_path / "a" / "healthy_cortex.pt")
    assert torch.equal(loaded.w_rec, a.w_rec)
    assert (tmp_path / "a" / "config.yaml").is_file()


def test_a_rate_cost_quiets_the_network(tmp_path):
    """`rate_weight` prices the neurons' squared rates: the same pre-training with it ends
    with a quieter network than without it (and the differentiable rates are the loop's)."""
    base = PretrainConfig(iterations=4, batch_center_out=1, batch_random=0, duration=0.3,
                          cortex=CortexConfig(sheet=SheetConfig(n_neurons=40)))

    def mean_squared_rate(cortex):
        loop = ClosedLoop(cortex, base.arm, nthread=1)
        targets = center_out_targets(loop.start, 8, 0.10)
        res, *_, rates = loop.run_differentiable(targets, base.duration, seed=3)
        plain = loop.run(targets, base.duration, seed=3, record_rates=True)
        assert rates.shape == plain.rates.shape
        np.testing.assert_allclose(rates.detach().numpy(), plain.rates, atol=1e-5)
        return float(rates.detach().pow(2).mean())

    free = mean_squared_rate(pretrain(base, progress=False))
    priced = mean_squared_rate(pretrain(replace(base, rate_weight=1e4), progress=False))
    assert priced < 0.95 * free


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")


def test_a_shipped_checkpoint_is_named_by_its_file_name(tmp_path):
    """A bare shipped name loads the file in the package (the default when None); a path that
    exists wins over a name; an unknown name's error lists the shipped ones."""
    default, _ = load_checkpoint()
    assert torch.equal(load_checkpoint(SHIPPED[0])[0].w_rec, default.w_rec)
    other, _ = load_checkpoint(SHIPPED[1])
    assert not torch.equal(other.w_rec, default.w_rec)
    assert checkpoint_digest(SHIPPED[0]) == checkpoint_digest(None) != checkpoint_digest(SHIPPED[1])
    with pytest.raises(FileNotFoundError, match="healthy_cortex_rate_cost.pt"):
        load_checkpoint("healthy_cortex_v9.pt")
