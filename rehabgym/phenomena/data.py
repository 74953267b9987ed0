"""What the experiments of one validate run measured, per patient: the record every row's
criterion and figure read (`concat` pools several runs' patients)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rehabgym.cortex.lesion import Lesion
from rehabgym.phenomena import challenge as ch
from rehabgym.phenomena import natural_history as nh
from rehabgym.phenomena import therapy as th


def _join(arrays, axis: int) -> np.ndarray:
    return np.concatenate(list(arrays), axis=axis)


def _therapy(results: list[th.TherapyResult]) -> th.TherapyResult:
    return th.TherapyResult(results[0].arms, _join((r.score for r in results), 2),
                            _join((r.profile for r in results), 2))


@dataclass
class PhenomenaData:
    """One field per experiment of `registry.EXPERIMENTS` (None: not run, e.g. the therapist
    experiment under an ablation, or rows chosen that do not need it); `lesions` are the
    cohort's."""

    lesions: list[Lesion]
    nat: nh.NaturalHistory | None
    ther: th.TherapyResult | None
    ther_all: th.TherapyResult | None  # the threshold experiment's
    finals: dict[str, np.ndarray] | None  # the therapist experiment's
    chal: ch.ChallengeResult | None

    @cached_property
    def measures(self) -> nh.Measures:
        """Per-patient measures of the natural history (rows 1, 3, 8, 9)."""
        if self.nat is None:
            raise ValueError("nat: the natural history was not measured in this run")
        return nh.Measures.of(self.lesions, self.nat)

    @classmethod
    def concat(cls, parts: list[PhenomenaData]) -> PhenomenaData:
        """The patients of every part in one cohort (each experiment's patient axis joined;
        an experiment missing from a part is missing from the whole)."""
        def every(field: str):
            values = [getattr(p, field) for p in parts]
            return None if any(v is None for v in values) else values

        nats = every("nat")
        nat = None if nats is None else nh.NaturalHistory(
            _join((n.score for n in nats), 1), _join((n.peaks for n in nats), 1),
            _join((n.output_pm for n in nats), 1), nats[0].healthy_score,
            nats[0].healthy_peaks, _join((n.alive_m1 for n in nats), 0),
            _join((n.site_score for n in nats), 1))
        ther, ther_all, finals, chals = (every(f) for f in ("ther", "ther_all", "finals", "chal"))
        chal = None if chals is None else ch.ChallengeResult(
            chals[0].levels, _join((c.gain for c in chals), 2),
            _join((c.success for c in chals), 2), _join((c.control for c in chals), 1))
        return cls([les for p in parts for les in p.lesions], nat,
                   None if ther is None else _therapy(ther),
                   None if ther_all is None else _therapy(ther_all),
                   None if finals is None else {k: _join((f[k] for f in finals), 0)
                                                for k in finals[0]},
                   chal)
