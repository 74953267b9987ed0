"""`output_covariance`: the corticospinal update on rates minus a fraction of their mean.

At 0 the output synapses learn from each neuron's rate (the default); at κ they learn from the
rate minus κ × the neuron's mean rate in the latest assessment, so a neuron firing at its mean
rate through a reach teaches its output synapses nothing at κ = 1, while the recurrent update
does not depend on κ.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from rehabgym.config import ConfigError
from rehabgym.cortex.lesion import Lesion
from rehabgym.cortex.plasticity import PlasticityConfig
from rehabgym.patient import PatientBatch, PatientConfig, rules


def update(kappa: float, rates_at_mean: bool) -> dict[str, np.ndarray]:
    """Weight change of one synthetic block (2 patients x 4 reaches x 5 steps) at `kappa`."""
    pc = replace(PlasticityConfig(), output_covariance=kappa)
    batch = PatientBatch([Lesion(focal_radius=0.4, seed=1)] * 2, PatientConfig(plasticity=pc),
                         seed=[3, 4])
    b = batch.brains
    n, m = b.n, b.state.mag_out.shape[1]
    rng = np.random.default_rng(0)
    mean = rng.uniform(0.0, 0.5, (2, n)).astype(np.float32)
    if rates_at_mean:
        rates = np.broadcast_to(mean[:, None, None, :], (2, 4, 5, n))
    else:
        rates = rng.uniform(0.0, 0.5, (2, 4, 5, n))
    res = SimpleNamespace(rates=np.ascontiguousarray(rates, dtype=np.float32).reshape(8, 5, n),
                          noise=rng.normal(0, 1, (8, 5, n + m)).astype(np.float32))
    adv = np.array([[0.3, -0.1, 0.2, -0.4], [-0.2, 0.5, 0.1, -0.3]])
    before = {k: getattr(b.state, k).clone() for k in ("mag_rec", "mag_out")}
    rules.reward_rule(b, pc, res, adv, np.arange(2), np.array([4, 4]), np.ones(2), 1, mean)
    return {k: (getattr(b.state, k) - v).numpy() for k, v in before.items()}


def test_at_one_a_neuron_at_its_mean_rate_teaches_its_output_synapses_nothing() -> None:
    plain, cov = update(0.0, True), update(1.0, True)
    assert np.abs(plain["mag_out"]).max() > 1e-5
    assert np.abs(cov["mag_out"]).max() < 1e-9
    np.testing.assert_array_equal(cov["mag_rec"], plain["mag_rec"])  # recurrent: unchanged


def test_a_fraction_scales_between_the_rate_and_its_deviation() -> None:
    """Away from the weight bounds the update is linear in κ."""
    d0, d_half, d1 = (update(k, False)["mag_out"] for k in (0.0, 0.5, 1.0))
    inside = (d0 != 0) & (d_half != 0) & (d1 != 0)
    np.testing.assert_allclose(d_half[inside], 0.5 * (d0 + d1)[inside], atol=1e-6)
    assert not np.allclose(d0, d1)


def test_output_covariance_outside_0_1_is_refused() -> None:
    with pytest.raises(ConfigError, match="output_covariance"):
        PlasticityConfig(output_covariance=1.5)
