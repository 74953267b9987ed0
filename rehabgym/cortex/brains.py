"""The plastic brains of P patients, held as batched tensors (one batch, many patients).

Each patient starts as a copy of the healthy pre-trained `Cortex`; a `Lesion` then kills
neurons, weakens the penumbra and cuts output fibres. Everything plastic lives here as
tensors [P, ...]: recurrent and corticospinal magnitudes, the connectivity mask, and the
masks that say who is alive. The sign of every weight stays its source's (Dale).
"""

from __future__ import annotations

import numpy as np
import torch

from rehabgym.cortex.lesion import Lesion, lesion_masks
from rehabgym.cortex.network import Cortex, Weights, effective_weights

#: tensors that make up a patient's brain state (saved, restored, replaced per patient)
STATE_KEYS = ("mag_rec", "connectivity", "w_in", "bias", "mag_out", "corticospinal",
              "out_bias", "alive", "distance_to_core", "target_rate", "depression")


class Brains:
    """P lesioned copies of a healthy cortex.

    Args:
        healthy: the pre-trained cortex (shared geometry, dynamics and sign of each neuron).
        lesions: one `Lesion` per patient (None = no lesion).
    """

    def __init__(self, healthy: Cortex, lesions: list[Lesion | None]) -> None:
        if len(lesions) < 1:
            raise ValueError("lesions: need at least one patient")
        self.healthy = healthy
        self.sign = healthy.sign.detach().clone()
        # Patients' output magnitudes are the effective weights (the area gain folded in), so a
        # plastic change is the same for a PM and an M1 fibre and PM's weak output can grow.
        self.output_gain = torch.ones_like(healthy.output_gain)
        self.area = healthy.area.detach().clone()
        self.excitatory = healthy.excitatory.detach().clone()
        self.probability = torch.as_tensor(healthy.sheet.connection_probability(),
                                           dtype=torch.float32)
        p = len(lesions)
        with torch.no_grad():
            #: healthy recurrent [N, N] and output [6, N] magnitudes (what lesions took away)
            self.healthy_rec = (healthy.w_rec.clamp(min=0) * healthy.connectivity).detach().clone()
            self.healthy_out = (healthy.w_out.clamp(min=0) * healthy.output_gain[None, :]
                                * healthy.corticospinal).detach().clone()
            #: healthy total cortical drive onto each muscle [6]
            self.reference_drive = self.healthy_out.sum(-1)
            base = {
                "mag_rec": healthy.w_rec.clamp(min=0), "connectivity": healthy.connectivity,
                "w_in": healthy.w_in, "bias": healthy.b,
                "mag_out": healthy.w_out.clamp(min=0) * healthy.output_gain[None, :],
                "corticospinal": healthy.corticospinal, "out_bias": healthy.b_out,
                "alive": healthy.alive,
                "distance_to_core": torch.full((healthy.n,), float("inf")),
                "target_rate": torch.zeros(healthy.n),
                "depression": torch.zeros(healthy.n),  # diaschisis (set by the patient)
            }
            self.state = {k: v.detach().clone()[None].repeat(p, *([1] * v.dim()))
                          for k, v in base.items()}
        self.lesions: list[Lesion | None] = [None] * p
        for i, lesion in enumerate(lesions):
            self.apply_lesion(i, lesion)

    @property
    def n_patients(self) -> int:
        return self.state["alive"].shape[0]

    @property
    def n(self) -> int:
        return self.state["alive"].shape[1]

    def __getattr__(self, name: str) -> torch.Tensor:
        state = self.__dict__.get("state")
        if state is not None and name in state:
            return state[name]
        raise AttributeError(name)

    # ------------------------------------------------------------------ lesions
    def apply_lesion(self, index: int, lesion: Lesion | None) -> None:
        """Stroke patient `index`: kill, weaken and cut as `lesion` says."""
        self.lesions[index] = lesion
        if lesion is None:
            return
        m = lesion_masks(lesion, self.healthy.sheet)
        s = self.state
        alive = torch.as_tensor(m.alive, dtype=torch.float32)
        s["alive"][index] = s["alive"][index] * alive
        a = s["alive"][index]
        # Dead neurons lose every synapse (the mask, not only the effective weight).
        s["connectivity"][index] *= a[:, None] * a[None, :]
        weak = torch.as_tensor(m.weakening, dtype=torch.float32)
        s["mag_rec"][index] *= weak[None, :]
        s["mag_out"][index] *= weak[None, :]
        cut = torch.as_tensor(~m.corticospinal_cut, dtype=torch.float32)
        s["corticospinal"][index] *= cut[None, :] * a[None, :]
        s["distance_to_core"][index] = torch.as_tensor(m.distance_to_core, dtype=torch.float32)

    def replace(self, index: int, lesion: Lesion | None) -> None:
        """Put a fresh healthy copy in slot `index`, then apply `lesion`."""
        fresh = Brains(self.healthy, [None])
        for k in STATE_KEYS:
            self.state[k][index] = fresh.state[k][0]
        self.apply_lesion(index, lesion)

    # ------------------------------------------------------------------ dynamics
    def weights(self) -> Weights:
        s = self.state
        return effective_weights(s["mag_rec"], self.sign, s["connectivity"], s["w_in"],
                                 s["bias"], s["mag_out"], s["corticospinal"], self.output_gain,
                                 s["out_bias"], s["alive"])

    # ------------------------------------------------------------------ read-outs
    def alive_fraction(self, area: int | None = None) -> np.ndarray:
        sel = torch.ones(self.n, dtype=torch.bool) if area is None else self.area == area
        return self.alive[:, sel].mean(1).numpy()

    def output_strength(self, area: int) -> np.ndarray:
        """[P] total corticospinal weight leaving `area`: vicarious compensation grows PM's."""
        w = self.weights().out
        return w[:, :, self.area == area].sum((1, 2)).numpy()

    def synapse_count(self) -> np.ndarray:
        """[P] synapses that exist (connectivity mask) between living neurons."""
        a = self.alive
        return (self.connectivity * a[:, :, None] * a[:, None, :]).sum((1, 2)).numpy()

    def dale_ok(self) -> bool:
        """Every effective weight has its source's sign; outputs only from E neurons."""
        w = self.weights()
        return bool(((w.rec * self.sign) >= 0).all() and (w.out >= 0).all()
                    and (w.out[..., ~self.excitatory] == 0).all())

    def dead_disconnected(self) -> bool:
        """Dead neurons have no synapse, no output fibre and no weight, in or out."""
        dead = self.alive == 0
        w = self.weights()
        conn = self.connectivity
        ok = True
        for p in range(self.n_patients):
            d = dead[p]
            ok &= bool((conn[p][d, :] == 0).all() and (conn[p][:, d] == 0).all())
            ok &= bool((w.rec[p][d, :] == 0).all() and (w.rec[p][:, d] == 0).all())
            ok &= bool((w.out[p][:, d] == 0).all() and (self.corticospinal[p][:, d] == 0).all())
        return ok

    def get_state(self) -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in self.state.items()}

    def set_state(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(STATE_KEYS) - set(state)
        if missing:
            raise ValueError(f"brain state: missing keys {sorted(missing)} (saved by an older "
                             "rehabgym?)")
        self.state = {k: state[k].clone() for k in STATE_KEYS}


__all__ = ["Brains", "STATE_KEYS"]
