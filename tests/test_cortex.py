"""The cortex: sheet geometry, Dale's law, masks, the numpy step against the autograd step."""

from __future__ import annotations

import numpy as np
import torch

from rehabgym.cortex import M1, PM, Cortex, CortexConfig, SheetConfig
from rehabgym.cortex.network import NumpyStep, network_step
from rehabgym.healthy.checkpoint import load_checkpoint
from rehabgym.reaching.loop import N_INPUTS


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


def test_numpy_step_matches_the_differentiable_step():
    """The loop's fast CPU step (numpy, packed weights) and the autograd step are the same
    dynamics, over several steps, with dead neurons staying silent."""
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
