"""The plastic brains of P patients, held as batched tensors (one batch, many patients).

Each patient starts as a copy of the healthy pre-trained `Cortex`; a `Lesion` then kills
neurons, weakens the penumbra and cuts output fibres. Everything plastic lives here as
tensors [P, ...]: recurrent and corticospinal magnitudes, the connectivity mask, and the
masks that say who is alive. The sign of every weight stays its source's (Dale).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from rehabgym.cortex.lesion import Lesion, lesion_masks
from rehabgym.cortex.network import Cortex, Weights, effective_weights


@dataclass
class BrainState:
    """Everything plastic or lesioned of P brains, each field a tensor [P, ...] (N neurons,
    6 muscles): what is saved, restored and replaced per patient. A typed record, so a
    misspelt field fails where it is written; the plasticity rules update the fields in place
    or assign new tensors to them."""

    mag_rec: torch.Tensor           #: [P, N, N] recurrent weight magnitudes (sign: the source's)
    connectivity: torch.Tensor      #: [P, N, N] 1 where a synapse exists
    w_in: torch.Tensor              #: [P, N, inputs] input weights
    bias: torch.Tensor              #: [P, N] neuron biases
    mag_out: torch.Tensor           #: [P, 6, N] corticospinal weight magnitudes (area gain in)
    corticospinal: torch.Tensor     #: [P, 6, N] 1 where an output fibre survives
    out_bias: torch.Tensor          #: [P, 6] muscle biases
    alive: torch.Tensor             #: [P, N] 1 for a living neuron
    distance_to_core: torch.Tensor  #: [P, N] distance to the infarct core (inf: no lesion)
    target_rate: torch.Tensor       #: [P, N] homeostatic set points
    depression: torch.Tensor        #: [P, N] diaschisis: the survivors' acute depression

    def tensors(self) -> dict[str, torch.Tensor]:
        """The fields by name (the same tensors, not copies)."""
        return {name: getattr(self, name) for name in STATE_FIELDS}

    def clone(self) -> BrainState:
        """A copy that shares no memory with this state."""
        return BrainState(**{k: v.clone() for k, v in self.tensors().items()})

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> BrainState:
        """The state saved as `tensors()` (copied); a ValueError naming missing fields."""
        missing = sorted(set(STATE_FIELDS) - set(tensors))
        if missing:
            raise ValueError(f"brain state: missing fields {missing} (saved by an older "
                             "rehabgym?)")
        return cls(**{k: tensors[k].clone() for k in STATE_FIELDS})


#: the fields of a `BrainState`, in order
STATE_FIELDS = tuple(f.name for f in fields(BrainState))


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
            self.state = BrainState(**{k: v.detach().clone()[None].repeat(p, *([1] * v.dim()))
                                       for k, v in base.items()})
        self.lesions: list[Lesion | None] = [None] * p
        for i, lesion in enumerate(lesions):
            self.apply_lesion(i, lesion)

    @property
    def n_patients(self) -> int:
        return self.state.alive.shape[0]

    @property
    def n(self) -> int:
        return self.state.alive.shape[1]

    def __getattr__(self, name: str) -> torch.Tensor:
        state = self.__dict__.get("state")
        if state is not None and name in STATE_FIELDS:
            return getattr(state, name)
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
        s.alive[index] = s.alive[index] * alive
        a = s.alive[index]
        # Dead neurons lose every synapse (the mask, not only the effective weight).
        s.connectivity[index] *= a[:, None] * a[None, :]
        weak = torch.as_tensor(m.weakening, dtype=torch.float32)
        s.mag_rec[index] *= weak[None, :]
        s.mag_out[index] *= weak[None, :]
        cut = torch.as_tensor(~m.corticospinal_cut, dtype=torch.float32)
        s.corticospinal[index] *= cut[None, :] * a[None, :]
        s.distance_to_core[index] = torch.as_tensor(m.distance_to_core, dtype=torch.float32)

    def replace(self, index: int, lesion: Lesion | None) -> None:
        """Put a fresh healthy copy in slot `index`, then apply `lesion`."""
        fresh = Brains(self.healthy, [None])
        for name, tensor in self.state.tensors().items():
            tensor[index] = getattr(fresh.state, name)[0]
        self.apply_lesion(index, lesion)

    # ------------------------------------------------------------------ dynamics
    def weights(self) -> Weights:
        s = self.state
        return effective_weights(s.mag_rec, self.sign, s.connectivity, s.w_in, s.bias,
                                 s.mag_out, s.corticospinal, self.output_gain, s.out_bias,
                                 s.alive)

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
        """The state as data (copies of its tensors by field name), as a state file holds it."""
        return self.state.clone().tensors()

    def set_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore `get_state`'s data (copied); a ValueError naming missing fields."""
        self.state = BrainState.from_tensors(state)


__all__ = ["BrainState", "Brains", "STATE_FIELDS"]
