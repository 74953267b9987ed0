"""The closed loop: dead neurons are silent, noise is seeded per brain, and batches split over
threads by brain give the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rehabgym.cortex.brains import Brains
from rehabgym.cortex.lesion import Lesion
from rehabgym.healthy.checkpoint import load_checkpoint
from rehabgym.reaching.loop import MIN_REACHES_PER_THREAD, ClosedLoop, ReachBatch

FIELDS = ("hand_position", "hand_velocity", "joint_angle", "excitation", "rates", "noise",
          "target")


@pytest.fixture(scope="module")
def batch():
    cortex, arm_cfg = load_checkpoint()
    lesions = [None, Lesion(focal_center=(1.0, 1.0), focal_radius=0.5),
               Lesion(diffuse_fraction=0.3), Lesion(corticospinal_fraction=0.4)]
    w = Brains(cortex, lesions).weights()
    r = MIN_REACHES_PER_THREAD // 2  # 4 brains of r reaches: two threads' worth
    rng = np.random.default_rng(0)
    loop = ClosedLoop(cortex, arm_cfg, nthread=1)
    targets = loop.start + rng.uniform(-0.1, 0.1, (len(lesions), r, 2))
    return cortex, arm_cfg, w, targets


def _gens(n: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(10 + i) for i in range(n)]


@pytest.mark.parametrize("seeded", ["per-brain", "int"])
def test_split_over_threads_changes_no_number(batch, seeded):
    cortex, arm_cfg, w, targets = batch
    p, r = targets.shape[:2]
    one, two = ClosedLoop(cortex, arm_cfg, nthread=1), ClosedLoop(cortex, arm_cfg, nthread=2)
    assert two._split(w, ReachBatch.make(targets, 0.2, two.dt, 0, p)) is not None  # split
    gain = np.linspace(0.0, 80.0, p * r)
    reaches = [r, r - 5, 3, r]
    runs = []
    for loop in (one, two):
        seed = _gens(p) if seeded == "per-brain" else 3
        runs.append(loop.run(targets, 0.2, seed=seed, assist_gain=gain, record_rates=True,
                             weights=w, reaches=reaches))
    for name in FIELDS:
        assert np.array_equal(getattr(runs[0], name), getattr(runs[1], name)), name
    assert runs[1].rates.shape == (p * r, 20, cortex.n)


@pytest.mark.parametrize("nthread", [1, 2])
def test_rates_without_their_noise_are_the_same_reaches(batch, nthread):
    """`record_noise=False` (the assessment's memory saving) records the same rates and
    changes no reach; only the noise is not kept."""
    cortex, arm_cfg, w, targets = batch
    loop = ClosedLoop(cortex, arm_cfg, nthread=nthread)
    full = loop.run(targets, 0.2, seed=_gens(len(targets)), record_rates=True, weights=w)
    lean = loop.run(targets, 0.2, seed=_gens(len(targets)), record_rates=True, weights=w,
                    record_noise=False)
    assert lean.noise is None and full.noise is not None
    for name in FIELDS[:-2] + ("target",):
        assert np.array_equal(getattr(full, name), getattr(lean, name)), name


def test_a_generator_shared_by_brains_is_not_split(batch):
    cortex, arm_cfg, w, targets = batch
    two = ClosedLoop(cortex, arm_cfg, nthread=2)
    shared = torch.Generator().manual_seed(5)
    assert two._split(w, ReachBatch.make(targets, 0.1, two.dt, [shared] * len(targets),
                                         len(targets))) is None
    a = two.run(targets, 0.1, seed=torch.Generator().manual_seed(5), weights=w)
    b = ClosedLoop(cortex, arm_cfg, nthread=1).run(targets, 0.1, seed=shared, weights=w)
    assert np.array_equal(a.hand_position, b.hand_position)


def test_bad_arguments_of_a_big_batch_name_themselves(batch):
    cortex, arm_cfg, w, targets = batch
    two = ClosedLoop(cortex, arm_cfg, nthread=2)
    with pytest.raises(ValueError, match="reaches"):
        two.run(targets, 0.1, weights=w, reaches=[1, 2, 3])
    with pytest.raises(ValueError, match="seed"):
        two.run(targets, 0.1, weights=w, seed=_gens(3))
    with pytest.raises(ValueError, match="duration"):
        two.run(targets, 0.0, weights=w, seed=_gens(4))


def test_dead_neurons_are_silent_in_the_loop():
    c, arm_cfg = load_checkpoint()
    with torch.no_grad():
        c.alive[:20] = 0
    res = ClosedLoop(c, arm_cfg).run(np.array([[0.0, 0.55]]), 0.2, record_rates=True)
    assert (res.rates[..., :20] == 0).all()
    assert (res.rates[..., 20:] > 0).any()


def test_loop_noise_is_deterministic_and_seeded():
    c, arm_cfg = load_checkpoint()
    loop = ClosedLoop(c, arm_cfg)
    t = np.array([[0.05, 0.5], [-0.05, 0.5]])
    a, b = loop.run(t, 0.3, seed=4), loop.run(t, 0.3, seed=4)
    assert np.array_equal(a.hand_position, b.hand_position)
    assert not np.array_equal(a.hand_position, loop.run(t, 0.3, seed=5).hand_position)


def test_each_brain_draws_its_own_noise():
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


@pytest.mark.parametrize("nthread", [1, 2])
def test_the_cortex_on_a_torch_device_reaches_as_the_numpy_step_does(batch, nthread):
    """`device` steps the cortex with torch (here on the CPU, the one device every machine
    has): the same reaches, rates and noise to float rounding (a different order of the same
    sums, float32), split over threads or not."""
    cortex, arm_cfg, w, targets = batch
    gain = np.linspace(0.0, 80.0, targets.shape[0] * targets.shape[1])
    runs = [ClosedLoop(cortex, arm_cfg, nthread=nthread, device=device).run(
        targets, 0.3, seed=_gens(len(targets)), assist_gain=gain, record_rates=True,
        weights=w, reaches=[targets.shape[1], 3, 5, 0]) for device in (None, "cpu")]
    assert runs[1].rates.dtype == runs[0].rates.dtype
    for name in ("hand_position", "joint_angle", "excitation", "rates", "noise"):
        np.testing.assert_allclose(getattr(runs[1], name), getattr(runs[0], name),
                                   atol=1e-4, err_msg=name)
