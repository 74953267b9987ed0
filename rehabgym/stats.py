"""Statistics shared by evaluation, validation and the schedule comparison.

Student-t intervals and paired t-tests (the t distribution still computed here through the
regularized incomplete beta; scipy replaces it in a later change), resampling (a bootstrap
interval of a mean and a sign-flip permutation test of paired differences), and the phenomena
table's tests: an `Estimate` with its 95 % interval and p-value, from scipy.stats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz evaluation)."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    # the continued fraction converges fast for x < (a + 1) / (a + b + 2); use symmetry otherwise
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Cumulative distribution function of Student's t with `df` degrees of freedom."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * betainc(0.5 * df, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_ppf(q: float, df: float) -> float:
    """Quantile of Student's t (bisection on `t_cdf`; accurate to ~1e-10)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"q: {q} is outside (0, 1)")
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of its `level` t confidence interval (NaNs dropped)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1:
        return float(x[0]), math.nan
    half = t_ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


@dataclass(frozen=True)
class PairedTest:
    """Paired t-test of a − b on the same patients."""

    mean_diff: float
    ci_half: float
    t: float
    p: float
    n: int


def paired_t_test(a: np.ndarray, b: np.ndarray) -> PairedTest:
    """Two-sided paired t-test of the mean of a − b against 0."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    n = diff.size
    mean, half = mean_ci(diff)
    if n < 2:
        return PairedTest(mean, half, math.nan, math.nan, n)
    sd = diff.std(ddof=1)
    if sd == 0.0:
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
    else:
        t = mean / (sd / math.sqrt(n))
    p = 2.0 * (1.0 - t_cdf(abs(t), n - 1))
    return PairedTest(mean, half, float(t), float(p), n)


# ---------------------------------------------------------------- resampling


def bootstrap_ci(x: np.ndarray, n_boot: int = 10000, seed: int = 0) -> tuple[float, float, float]:
    """Mean and its 95 % bootstrap percentile interval."""
    x = np.asarray(x, dtype=float)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(x.mean()), float(lo), float(hi)


def paired_test(a: np.ndarray, b: np.ndarray, n_perm: int = 20000, seed: int = 0
                ) -> dict[str, float]:
    """Paired comparison of a and b (same patients): mean difference a - b, its 95 % bootstrap
    interval, the paired t statistic and a two-sided sign-flip permutation p-value."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(d)
    if n < 2:
        raise ValueError(f"paired_test: needs at least 2 pairs, got {n}")
    mean, lo, hi = bootstrap_ci(d, seed=seed)
    sd = d.std(ddof=1)
    t = mean / (sd / np.sqrt(n)) if sd > 0 else (np.inf if mean else 0.0) * np.sign(mean)
    rng = np.random.default_rng(seed)
    flips = rng.choice([-1.0, 1.0], size=(n_perm, n))
    null = np.abs((flips * d).mean(axis=1))
    p = (1 + np.count_nonzero(null >= abs(mean) - 1e-12)) / (n_perm + 1)
    return {"mean_diff": mean, "ci_low": lo, "ci_high": hi, "t": float(t), "p": float(p)}


# ---------------------------------------------------------------- the scorecard's tests
ALPHA = 0.05  # every row of the phenomena table tests its effect at this level


@dataclass(frozen=True)
class Estimate:
    """An effect with its 95 % confidence interval and the two-sided p-value against 0."""

    value: float
    low: float
    high: float
    p: float
    n: int

    def excludes_zero(self, sign: int = 1) -> bool:
        """The whole interval has the sign `sign` (+1: above 0, -1: below 0)."""
        return bool(self.low > 0) if sign > 0 else bool(self.high < 0)

    def text(self, digits: int = 1) -> str:
        return (f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"
                if math.isfinite(self.value) else "n/a")



def mean_estimate(x: np.ndarray, null: float = 0.0) -> Estimate:
    """Mean of `x` (NaNs dropped) with its t interval; p of a one-sample t-test against
    `null` (scipy.stats.ttest_1samp)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return Estimate(float(x.mean()) if x.size else math.nan, math.nan, math.nan, math.nan,
                        int(x.size))
    res = scipy_stats.ttest_1samp(x, null)
    low, high = res.confidence_interval(1 - ALPHA)
    p = float(res.pvalue) if np.isfinite(res.pvalue) else (1.0 if x.mean() == null else 0.0)
    return Estimate(float(x.mean()), float(low), float(high), p, int(x.size))


def spearman_estimate(a: np.ndarray, b: np.ndarray) -> Estimate:
    """Spearman's rank correlation with scipy's p and a Fisher-z 95 % interval (standard error
    1.06 / sqrt(n - 3), Fieller, Hartley & Pearson 1957)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    n = int(ok.sum())
    if n < 4 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return Estimate(math.nan, math.nan, math.nan, math.nan, n)
    res = scipy_stats.spearmanr(a[ok], b[ok])
    rho = float(res.statistic)
    z, half = math.atanh(max(min(rho, 0.999999), -0.999999)), 1.96 * 1.06 / math.sqrt(n - 3)
    return Estimate(rho, math.tanh(z - half), math.tanh(z + half), float(res.pvalue), n)


def slope_through_origin(x: np.ndarray, y: np.ndarray) -> tuple[Estimate, float]:
    """Least-squares slope of y = b x (no intercept) with its t interval, and R² = 1 -
    SSE / SS about the mean of y (the proportional-recovery fit, Prabhakaran et al. 2008)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = x.size
    if n < 3 or not (x ** 2).sum() > 0:
        return Estimate(math.nan, math.nan, math.nan, math.nan, n), math.nan
    b = float((x * y).sum() / (x ** 2).sum())
    resid = y - b * x
    se = math.sqrt((resid ** 2).sum() / (n - 1) / (x ** 2).sum())
    half = float(scipy_stats.t.ppf(1 - ALPHA / 2, n - 1)) * se
    p = float(2 * scipy_stats.t.sf(abs(b / se), n - 1)) if se > 0 else 0.0
    ss = ((y - y.mean()) ** 2).sum()
    return Estimate(b, b - half, b + half, p, n), float(1 - (resid ** 2).sum() / ss) if ss else 1.0
