"""The plasticity rules applied to a batch of patients' brains.

`rehabgym.cortex.plasticity` holds each rule as a function of tensors; this module says when
and on what a patient applies them: the reward rule after each block of reaches, diaschisis at
the stroke, and the slow daily rules (diaschisis resolving, homeostasis, sprouting and pruning,
corticospinal and axonal sprouting) and disuse once a day.
"""

from __future__ import annotations

import numpy as np
import torch

from rehabgym.cortex.brains import Brains
from rehabgym.cortex.plasticity import (
    PlasticityConfig,
    acute_depression,
    axonal_sprouting,
    corticospinal_sprouting,
    homeostatic_scaling,
    lost_targets,
    prune,
    resolve,
    reward_update,
    scale_outputs,
    spinal_scaling,
    sprout,
    window_gain,
)
from rehabgym.cortex.sheet import AREA_NAMES
from rehabgym.reaching.loop import ReachResult
from rehabgym.runtime.threads import torch_threads

#: patients whose reward-rule update is computed at once: its temporaries (the presynaptic
#: rates shifted by a step, the weighted noise) grow with it, a patient's numbers do not change
UPDATE_GROUP = 4


def reward_rule(brains: Brains, pc: PlasticityConfig, res: ReachResult, adv: np.ndarray,
                busy: np.ndarray, counts: np.ndarray, gain: np.ndarray, threads: int,
                mean_rates: np.ndarray) -> None:
    """Node perturbation after a block of reaches of the patients `busy`, each with `counts`
    real reaches (the first of its row of the block), advantages `adv` [busy, reaches] and
    learning-rate gains `gain` [busy] (window × fatigue); `threads` for torch's products.
    `mean_rates` [patients, neurons], the latest assessment's of every patient of the batch,
    is what `output_covariance` subtracts from the output synapses' presynaptic rates.
    Patients are updated `UPDATE_GROUP` at a time, which bounds the memory of a large batch."""
    full = brains.state
    n = brains.n
    p, r = adv.shape
    t = res.rates.shape[1]
    rates_all = torch.from_numpy(res.rates).reshape(p, r, t, n)
    noise_all = torch.from_numpy(res.noise).reshape(p, r, t, -1)
    gain_all = torch.as_tensor(gain, dtype=torch.float32)
    adv_all = torch.as_tensor(adv, dtype=torch.float32)
    counts_all = torch.as_tensor(counts)
    kappa = pc.output_covariance
    for lo in range(0, p, UPDATE_GROUP):
        g = slice(lo, lo + UPDATE_GROUP)
        rows = busy[g]
        q = len(rows)
        rates, noise = rates_all[g], noise_all[g]
        pre = torch.cat([torch.zeros_like(rates[:, :, :1]), rates[:, :, :-1]], dim=2)
        alive = full.alive[rows]
        mask = full.connectivity[rows] * alive[:, :, None] * alive[:, None, :]
        out_mask = full.corticospinal[rows] * alive[:, None, :]
        if kappa:
            mean = torch.as_tensor(mean_rates[rows], dtype=torch.float32)
            out_pre = rates - kappa * mean[:, None, None, :]
        else:
            out_pre = rates
        # one product per patient: torch splits them over the loop's threads when there are
        # several patients, which changes no number
        with torch_threads(threads if q > 1 else torch.get_num_threads()):
            full.mag_rec[rows] = reward_update(
                full.mag_rec[rows], brains.sign, mask, noise[..., :n], pre, adv_all[g],
                pc.learning_rate * gain_all[g], pc.max_weight, counts_all[g])
            full.mag_out[rows] = reward_update(
                full.mag_out[rows], None, out_mask, noise[..., n:], out_pre, adv_all[g],
                pc.output_learning_rate * gain_all[g], pc.max_weight, counts_all[g])


def depress(brains: Brains, pc: PlasticityConfig, rows: slice) -> None:
    """Day 0 of the patients in `rows`: the survivors' diaschisis (when the rule is on)."""
    s = brains.state
    if not pc.diaschisis or pc.diaschisis_depth == 0:
        return
    d = acute_depression(brains.healthy_rec, brains.excitatory, s.alive[rows],
                         pc.diaschisis_depth, pc.diaschisis_cap)
    s.depression[rows] = d
    s.mag_rec[rows], s.mag_out[rows] = scale_outputs(
        s.mag_rec[rows], s.mag_out[rows], 1.0 - d, pc.max_weight)


def disuse(brains: Brains, decay_at_zero_use: float, use: np.ndarray) -> None:
    """Output synapses weaken by `decay_at_zero_use` × (1 - use) a day."""
    decay = 1.0 - decay_at_zero_use * (1.0 - use)
    brains.state.mag_out *= torch.as_tensor(decay, dtype=torch.float32)[:, None, None]


def daily_rules(brains: Brains, pc: PlasticityConfig, day: np.ndarray, last_rates: np.ndarray,
                gens: list[torch.Generator]) -> None:
    """One day's slow rules, gated by each patient's post-stroke window on `day`; homeostasis
    compares `last_rates` (the latest battery's) with each neuron's target rate."""
    s = brains.state
    if pc.diaschisis and bool(s.depression.any()):
        s.depression, lift = resolve(s.depression, pc.diaschisis_tau_days)
        s.mag_rec, s.mag_out = scale_outputs(s.mag_rec, s.mag_out, lift, pc.max_weight)
    gain = torch.as_tensor(window_gain(day, pc), dtype=torch.float32)
    if pc.homeostasis:
        rate = torch.as_tensor(last_rates, dtype=torch.float32)
        s.mag_rec = homeostatic_scaling(
            s.mag_rec, brains.excitatory, rate, s.target_rate, s.alive,
            pc.homeostasis_rate * gain, pc.homeostasis_max_step, pc.max_weight)
    if pc.structural:
        s.connectivity, s.mag_rec = sprout(
            s.connectivity, s.mag_rec, s.alive, brains.probability,
            s.distance_to_core, pc.sprout_rate * gain, pc.peri_infarct_boost,
            pc.peri_infarct_length, pc.sprout_weight, gens)
        s.connectivity, s.mag_rec = prune(
            s.connectivity, s.mag_rec, pc.prune_threshold, pc.prune_probability, gens)
    if pc.structural and pc.cst_sprout_rate > 0:
        s.mag_out = corticospinal_sprouting(
            s.mag_out, s.corticospinal, s.alive, brains.reference_drive,
            pc.cst_sprout_rate * gain, pc.max_weight)
    if pc.structural and pc.axon_sprout_rate > 0:
        areas = [AREA_NAMES.index(a) for a in pc.axon_sprout_areas]
        sprouting = torch.isin(brains.area, torch.as_tensor(areas)).float()
        lost = lost_targets(brains.healthy_rec, s.alive) * sprouting[None]
        s.mag_out = axonal_sprouting(
            s.mag_out, s.corticospinal, s.alive, lost, brains.healthy_out,
            pc.axon_sprout_rate * gain, pc.axon_sprout_bound, pc.max_weight)
    if pc.homeostasis and pc.spinal_scaling_rate > 0:
        # last: each muscle's total drive is scaled after the day's structural changes to it
        scaled = torch.isin(brains.area, torch.as_tensor(
            [AREA_NAMES.index(a) for a in pc.spinal_scaling_areas]))
        s.mag_out = spinal_scaling(
            s.mag_out, s.corticospinal, s.alive, brains.reference_drive,
            pc.spinal_scaling_rate, pc.homeostasis_max_step, pc.max_weight, scaled)
