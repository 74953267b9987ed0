"""The cortex: sheet geometry, Dale's law, masks, the shipped checkpoint, pre-training."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
import torch

from rehabgym.cortex import M1, PM, Cortex, CortexConfig, SheetConfig
from rehabgym.pretrain import PretrainConfig, evaluate_healthy, load_checkpoint, pretrain
from rehabgym.reaching.loop import N_INPUTS, ClosedLoop


def test_sheet_has_areas_types_and_local_wiring():
    c = Cortex(CortexConfig(sheet=SheetConfig(n_neurons=200, seed=3)), n_inputs=N_INPUTS)
    sh = c.sheet
    assert abs(sh.excitatory.mean() - 0.8) < 0.01
    assert (sh.area == M1).any() and (sh.area == PM).any()
    assert not np.diag(sh.connectivity).any()
    d = sh.distances()
    near, far = sh.connectivity[d < 0.5].mean(), sh.connectivity[d > 1.5].mean()
    assert near > 5 * far  # probability falls with distance


def test_dale_and_masks_hold_whatever_the_parameters():
    c = Cortex(n_inputs=N_INPUTS)
    with torch.no_grad():
        c.w_rec.normal_()  # an optimiser may push magnitudes anywhere, negative included
        c.w_out.normal_()
        c.alive[:10] = 0
    w = c.weights()
    assert c.dale_ok()
    assert (w.rec[0][:, :10] == 0).all() and (w.rec[0][:10, :] == 0).all()
    assert (w.rec[0][c.connectivity == 0] == 0).all()
    assert (w.out[0][:, ~c.excitatory] == 0).all() and (w.out[0][:, :10] == 0).all()


def test_dead_neurons_are_silent_in_the_loop():
    c, arm_cfg = load_checkpoint()
    with torch.no_grad():
        c.alive[:20] = 0
    res = ClosedLoop(c, arm_cfg).run(np.array([[0.0, 0.55]]), 0.2, record_rates=True)
    assert (res.rates[..., :20] == 0).all()
    assert (res.rates[..., 20:] > 0).any()


def test_numpy_step_matches_the_differentiable_step():
    """The loop's fast CPU step (numpy, packed weights) and the autograd step are the same
    dynamics, over several steps, with dead neurons staying silent."""
    from rehabgym.cortex.network import NumpyStep, network_step

    c, _ = load_checkpoint()
    with torch.no_grad():
        c.alive[:15] = 0
    w = c.weights()
    g = torch.Generator().manual_seed(0)
    step = NumpyStep(w, reaches=5)
    x = torch.zeros(1, 5, c.n)
    r = None
    for _ in range(3):
        inp = torch.randn(1, 5, N_INPUTS, generator=g)
        noise = torch.randn(1, 5, c.n, generator=g) * 0.05 * c.alive
        out_noise = torch.randn(1, 5, 6, generator=g) * 0.05
        with torch.no_grad():
            x, r, u1 = network_step(x, inp, w, 0.2, noise, out_noise, r=r)
        step.inputs[:] = inp.numpy()
        u2 = step(0.2, noise.numpy(), out_noise.numpy())
        torch.testing.assert_close(torch.from_numpy(step.x), x)
        torch.testing.assert_close(torch.from_numpy(step.r.copy()), r)
        torch.testing.assert_close(torch.from_numpy(u2.copy()), u1)
    assert (r > 0).any() and (step.r[..., :15] == 0).all() and (step.x[..., :15] == 0).all()


def test_loop_noise_is_deterministic_and_seeded():
    c, arm_cfg = load_checkpoint()
    loop = ClosedLoop(c, arm_cfg)
    t = np.array([[0.05, 0.5], [-0.05, 0.5]])
    a, b = loop.run(t, 0.3, seed=4), loop.run(t, 0.3, seed=4)
    assert np.array_equal(a.hand_position, b.hand_position)
    assert not np.array_equal(a.hand_position, loop.run(t, 0.3, seed=5).hand_position)


def test_shipped_checkpoint_reaches_like_its_pretraining_run():
    cortex, arm_cfg = load_checkpoint()
    assert cortex.dale_ok()
    recorded = json.loads((resources.files("rehabgym") / "assets" / "healthy_cortex.json")
                          .read_text())
    again = evaluate_healthy(cortex, arm_cfg, verbose=False)
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


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")


def test_each_brain_draws_its_own_noise():
    from rehabgym.cortex.brains import Brains

    c, arm_cfg = load_checkpoint()
    loop = ClosedLoop(c, arm_cfg)
    two, one = Brains(c, [None, None]).weights(), Brains(c, [None]).weights()
    t = np.array([[0.05, 0.5], [-0.05, 0.5], [0.0, 0.55]])
    res = loop.run(np.stack([t, t]), 0.3, weights=two, record_rates=True, reaches=[3, 1],
                   seed=[torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)])
    alone = loop.run(t[None, :1], 0.3, weights=one, record_rates=True,
                     seed=[torch.Generator().manual_seed(2)])
    # brain 1's one real reach has the noise it has alone; its padding has none
    assert np.array_equal(res.noise[3], alone.noise[0])
    assert not res.noise[4:].any() and res.noise[:3].any()
    # an int seed gives every brain the same noise
    same = loop.run(np.stack([t, t]), 0.3, weights=two, record_rates=True, seed=7)
    assert np.array_equal(same.noise[:3], same.noise[3:])
    with pytest.raises(ValueError, match="seed"):
        loop.run(np.stack([t, t]), 0.3, weights=two, seed=[torch.Generator()])
    with pytest.raises(ValueError, match="reaches"):
        loop.run(np.stack([t, t]), 0.3, weights=two, reaches=[4, 1])
