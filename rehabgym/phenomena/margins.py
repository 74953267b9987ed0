"""How far a row is from its verdict's edge: the calibration's objective (issue 45).

A criterion is a conjunction of conditions. Each condition's margin is signed (> 0: it holds)
and counted in half-widths of its 95 % CI, so a CI bound one half-width past its threshold
scores 1 whether the effect is in points, a correlation or a fraction; a p-value condition
counts decades below α. A row's margin is its weakest condition's, and a row passes exactly
when its margin is above 0 (the criteria tests check that on every row).
"""

from __future__ import annotations

import math

from rehabgym.stats import ALPHA, Estimate

#: margins are clipped here (a CI of zero width would give an infinite one)
LIMIT = 99.0


def _half(est: Estimate) -> float:
    return (est.high - est.low) / 2


def scaled(distance: float, half: float) -> float:
    """`distance` past a threshold (> 0: on the passing side) in units of `half`."""
    if not math.isfinite(distance):
        return -LIMIT
    if half > 0 and math.isfinite(half):
        return max(-LIMIT, min(LIMIT, distance / half))
    return LIMIT if distance > 0 else -LIMIT


def above(est: Estimate, threshold: float = 0.0) -> float:
    """The CI's lower end above `threshold` (in half-widths)."""
    return scaled(est.low - threshold, _half(est))


def below(est: Estimate, threshold: float = 0.0) -> float:
    """The CI's upper end below `threshold` (in half-widths)."""
    return scaled(threshold - est.high, _half(est))


def within(value: float, low: float, high: float, half: float) -> float:
    """`value` inside [low, high], its distance to the nearer end in units of `half`."""
    return scaled(min(value - low, high - value), half)


def p_below(p: float) -> float:
    """Decades of a p-value below α (> 0: significant)."""
    return max(-LIMIT, min(LIMIT, math.log10(ALPHA / max(p, 1e-300)))) if math.isfinite(p) \
        else -LIMIT


def significant(est: Estimate, sign: int) -> float:
    """The effect has the sign `sign` and p < α: decades of p below α; at most -1 when the
    effect has the wrong sign."""
    if not (math.isfinite(est.value) and math.isfinite(est.p)):
        return -LIMIT
    decades = p_below(est.p)
    return decades if sign * est.value > 0 else min(-1.0, -abs(decades))


def holds(condition: bool) -> float:
    """A condition with no scale (an order, a count): 1 when it holds, -1 when not."""
    return 1.0 if condition else -1.0


def weakest(*terms: float) -> float:
    """A row's margin: its weakest condition's (a NaN condition fails)."""
    return min(-LIMIT if math.isnan(t) else max(-LIMIT, min(LIMIT, t)) for t in terms)
