"""Reward-modulated node perturbation: the weight change of a batch of reaches is one product.

Each neuron (and each muscle drive) receives private noise xi. A synapse j -> i is eligible in
proportion to sum_t xi_i(t) r_j(t - 1): the noise it carried times what the synapse
transmitted. After each reach the outcome R is compared with a baseline for its direction (the
patient applies the rule per block of reaches and uses the block's mean outcome for that
direction); dw_ij = eta * (R - baseline) * eligibility_ij (Fiete & Seung 2006). Summed over all
reaches and steps of all patients, that is one batched matrix product.
"""

from __future__ import annotations

import numpy as np
import torch


def reward_update(
    mag: torch.Tensor, sign: torch.Tensor | None, mask: torch.Tensor, noise: torch.Tensor,
    pre: torch.Tensor, advantage: torch.Tensor, rate: torch.Tensor, max_weight: float,
    reaches: torch.Tensor | None = None,
) -> torch.Tensor:
    """New magnitudes after one batch of reaches (all tensors batched over P patients).

    Args:
        mag: [P, n_post, n_pre] magnitudes (>= 0).
        sign: [n_pre] sign of each source (+1 E, -1 I), or None for all-positive weights.
        mask: [P, n_post, n_pre] synapses that exist (between living neurons).
        noise: [P, R, T, n_post] the perturbation each post-synaptic unit received.
        pre: [P, R, T, n_pre] presynaptic rates that fed each step.
        advantage: [P, R] reward minus baseline of each reach (0 for padding reaches).
        rate: [P] learning rate of each patient (window, fatigue already applied).
        reaches: [P] real reaches of each patient, the first of its R (default: all R); the
            padding after them, which lets patients with fewer reaches share the batch, has no
            advantage and does not count.
    """
    p, r, t, n_post = noise.shape
    weighted = (noise * advantage[:, :, None, None]).reshape(p, r * t, n_post)
    # Normalised by each patient's number of reaches and steps, so rate is per reach and a
    # patient learns as it would alone, whatever the reaches of the others in the batch.
    count = torch.full((p,), float(r)) if reaches is None else reaches.to(torch.float32)
    dw = torch.bmm(weighted.transpose(1, 2), pre.reshape(p, r * t, -1)) \
        / (count * t).sqrt()[:, None, None]
    if sign is not None:
        dw = dw * sign[None, None, :]
    return (mag + rate[:, None, None] * dw * mask).clamp(0.0, max_weight)


def reinforcement(outcome: np.ndarray, success: bool, threshold: float, width: float,
                  error_weight: float = 0.0) -> np.ndarray:
    """What the reward rule reinforces for reaches of unclipped scores `outcome`.

    With `success`, a soft success: sigmoid((outcome - threshold) / width) in (0, 1). Reaches
    far below the threshold all count as failures and far above as successes, so a block
    with no variation in success carries no learning signal; practice is most informative
    where success is uncertain (Guadagnoli & Lee 2004; Han et al. 2008 reinforce successful
    reaches). `error_weight` adds the graded outcome beside it, the feedback of how far the
    hand ended from the target that every reach gives (Izawa & Shadmehr 2011): far below the
    threshold a patient still learns, slowly. Without `success`, the outcome alone: even a
    patient who misses every target learns at full rate.
    """
    if not success:
        return outcome
    return 0.5 * (1.0 + np.tanh((outcome - threshold) / (2.0 * width))) + error_weight * outcome
