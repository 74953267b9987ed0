"""How far a row is from its verdict's edge: the calibration's objective (issue 45).

A criterion is a conjunction of conditions. Each condition's margin takes its sign from the
verdict's own test (> 0: it holds) and its size from the distance to the condition's edge,
counted in half-widths of a 95 % CI (the estimate's own, or for a comparison of two effects the
first one's), so a CI bound one half-width past its threshold scores 1 whether the effect is in
points, a correlation or a fraction; a p-value condition counts decades below α. A row's margin
is its weakest condition's, and a row passes exactly when its margin is above 0 (the criteria
tests check that on every row).
"""

from __future__ import annotations

import math

from rehabgym.stats import ALPHA, Estimate

#: margins are clipped here (a CI of zero width would give an infinite one)
LIMIT = 99.0
#: the smallest margin a condition has: a condition that holds on its edge still counts > 0
FLOOR = 1e-6


def condition(holds: bool, distance: float, half: float) -> float:
    """A condition's margin: the sign from whether it `holds` (the verdict's own test, so the
    contract holds by construction), the size `distance` from its edge in units of `half`
    (clipped to [FLOOR, LIMIT]; LIMIT when the distance is not a finite number)."""
    if not math.isfinite(distance):
        size = LIMIT
    elif math.isfinite(half) and half > 0:
        size = abs(distance / half)
    else:  # no spread: on the edge, or past it by any amount
        size = FLOOR if distance == 0 else LIMIT
    size = min(LIMIT, max(FLOOR, size))
    return size if holds else -size


def _half(est: Estimate) -> float:
    return (est.high - est.low) / 2


def above(est: Estimate, threshold: float = 0.0) -> float:
    """The CI's lower end above `threshold` (in half-widths of the CI)."""
    return condition(bool(est.low > threshold), est.low - threshold, _half(est))


def below(est: Estimate, threshold: float = 0.0) -> float:
    """The CI's upper end below `threshold` (in half-widths of the CI)."""
    return condition(bool(est.high < threshold), threshold - est.high, _half(est))


def not_below(est: Estimate, threshold: float = 0.0) -> float:
    """The CI does not lie wholly below `threshold`: its upper end at or above it."""
    return condition(bool(est.high >= threshold), est.high - threshold, _half(est))


def within(value: float, low: float, high: float, half: float) -> float:
    """`value` inside [low, high], its distance to the nearer end in units of `half`."""
    return condition(bool(low <= value <= high), min(value - low, high - value), half)


def p_below(p: float) -> float:
    """Decades of a p-value below α (> 0: significant)."""
    if not math.isfinite(p):
        return -LIMIT
    return condition(p < ALPHA, math.log10(ALPHA / max(p, 1e-300)), 1.0)


def significant(est: Estimate, sign: int) -> float:
    """The effect has the sign `sign` and p < α: decades of p below α; at most -1 when the
    effect has the wrong sign."""
    if not (math.isfinite(est.value) and math.isfinite(est.p)):
        return -LIMIT
    if sign * est.value > 0:
        return p_below(est.p)
    return -max(1.0, abs(p_below(est.p)))


def holds(ok: bool) -> float:
    """A condition with no scale (a count): 1 when it holds, -1 when not."""
    return 1.0 if ok else -1.0


def weakest(*terms: float) -> float:
    """A row's margin: its weakest condition's."""
    return min(terms)
