"""Statistics shared by evaluation, validation, the schedule comparison and trials.

Everything is computed by scipy.stats and statsmodels; what this module adds is the shape the
reports need: Student-t intervals and paired t-tests, resampling (a bootstrap interval of a
mean and a sign-flip permutation test of paired differences), the phenomena table's tests (an
`Estimate` with its 95 % interval and p-value) and a trial's: ANCOVA against a control arm,
responder rates, and the sample size for a target difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats


def mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of its `level` t confidence interval (NaNs dropped)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1:
        return float(x[0]), math.nan
    half = float(scipy_stats.t.ppf(0.5 + level / 2, x.size - 1)) * scipy_stats.sem(x)
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
    """Two-sided paired t-test of the mean of a − b against 0 (scipy.stats.ttest_rel)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = a - b
    n = diff.size
    mean, half = mean_ci(diff)
    if n < 2:
        return PairedTest(mean, half, math.nan, math.nan, n)
    if diff.std() == 0.0:  # scipy gives NaN: no spread, so the difference is exact
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        return PairedTest(mean, half, t, 1.0 if mean == 0.0 else 0.0, n)
    res = scipy_stats.ttest_rel(a, b)
    return PairedTest(mean, half, float(res.statistic), float(res.pvalue), n)


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
    if np.ptp(x) == 0:  # no spread: the mean is exact (scipy would warn and give NaN)
        m = float(x[0])
        return Estimate(m, m, m, 1.0 if m == null else 0.0, int(x.size))
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


def ratio_estimate(a: np.ndarray, b: np.ndarray, null: float = 1.0, n_boot: int = 10000,
                   seed: int = 0) -> Estimate:
    """Ratio of the means of paired samples, mean(a) / mean(b), with its 95 % bootstrap
    percentile interval (pairs resampled together) and a two-sided bootstrap p against
    `null` (twice the smaller share of resampled ratios on either side of it)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = int(a.size)
    if n < 2 or not b.mean() > 0:
        return Estimate(math.nan, math.nan, math.nan, math.nan, n)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    num, den = a[idx].mean(axis=1), b[idx].mean(axis=1)
    ratios = np.divide(num, den, out=np.full(n_boot, np.inf), where=den > 0)
    low, high = np.quantile(ratios, [ALPHA / 2, 1 - ALPHA / 2])
    tail = min(np.count_nonzero(ratios <= null), np.count_nonzero(ratios >= null))
    p = min(1.0, 2 * (tail + 1) / (n_boot + 1))
    return Estimate(float(a.mean() / b.mean()), float(low), float(high), float(p), n)


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


# ---------------------------------------------------------------- a trial's analysis


@dataclass(frozen=True)
class ArmEffect:
    """One arm against the control arm: the baseline-adjusted difference of an outcome."""

    arm: str
    effect: Estimate  # adjusted mean difference arm − control, 95 % CI, p (ANCOVA)
    p_holm: float  # p adjusted over the trial's arms (Holm), for the primary outcome
    cohen_d: float  # effect / pooled standard deviation of the outcome in the two arms
    n: int
    n_control: int


def ancova(outcome: np.ndarray, baseline: np.ndarray, arms: np.ndarray, control: str,
           arm_names: Sequence[str] | None = None) -> tuple[list[ArmEffect], float]:
    """Each arm against `control` by ANCOVA (statsmodels OLS: outcome ~ arm + baseline), the
    analysis a randomised trial with a baseline measurement reports (Vickers & Altman 2001,
    BMJ: more power than comparing gains or finals alone). Returns one `ArmEffect` per other arm
    (in order of first appearance) with Holm-adjusted p-values, and the residual standard
    deviation (what a sample-size estimate needs). `arm_names`, the design's arms, lets the
    control be an arm no patient was allocated to (a tiny trial): every effect is then NaN.
    statsmodels is imported here, not with the
    module: it brings pandas, which most users of this module never need."""
    import statsmodels.api as sm
    from statsmodels.stats.multitest import multipletests

    y = np.asarray(outcome, dtype=np.float64)
    x0 = np.asarray(baseline, dtype=np.float64)
    arms = np.asarray(arms).astype(str)
    ok = np.isfinite(y) & np.isfinite(x0)
    y, x0, arms = y[ok], x0[ok], arms[ok]
    names = [a for a in dict.fromkeys(arms.tolist()) if a != control]
    known = set(arms.tolist()) if arm_names is None else set(arm_names)
    if control not in known:
        raise ValueError(f"control: {control!r} is not one of the arms {sorted(known)}")
    design = np.column_stack([np.ones_like(y), x0 - x0.mean()]
                             + [(arms == a).astype(float) for a in names])
    # no residual degree of freedom, or no control patient: nothing can be estimated
    if len(y) <= design.shape[1] or not (arms == control).any():
        nan = Estimate(math.nan, math.nan, math.nan, math.nan, len(y))
        return [ArmEffect(a, nan, math.nan, math.nan, int((arms == a).sum()),
                          int((arms == control).sum())) for a in names], math.nan
    fit = sm.OLS(y, design).fit()
    ci = fit.conf_int(ALPHA)
    p = np.asarray(fit.pvalues[2:], dtype=float)
    p_holm = multipletests(p, method="holm")[1] if len(p) else p
    out = []
    for k, name in enumerate(names):
        j = 2 + k
        a, c = y[arms == name], y[arms == control]
        df = len(a) + len(c) - 2
        ss = float(((a - a.mean()) ** 2).sum() + ((c - c.mean()) ** 2).sum()) if len(a) else 0.0
        pooled = math.sqrt(ss / df) if df > 0 else math.nan
        effect = Estimate(float(fit.params[j]), float(ci[j, 0]), float(ci[j, 1]), float(p[k]),
                          int(len(a) + len(c)))
        out.append(ArmEffect(name, effect, float(p_holm[k]),
                             float(fit.params[j]) / pooled if pooled else math.nan,
                             int(len(a)), int(len(c))))
    return out, float(math.sqrt(fit.scale))


@dataclass(frozen=True)
class Rate:
    """A proportion with its 95 % Wilson interval."""

    count: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.count / self.n if self.n else math.nan


def responder_rate(responders: np.ndarray) -> Rate:
    """The fraction of True in `responders` with its Wilson interval (statsmodels)."""
    from statsmodels.stats.proportion import proportion_confint

    r = np.asarray(responders, dtype=bool)
    if r.size == 0:
        return Rate(0, 0, math.nan, math.nan)
    low, high = proportion_confint(int(r.sum()), r.size, alpha=ALPHA, method="wilson")
    return Rate(int(r.sum()), int(r.size), float(low), float(high))


def rate_difference(a: Rate, b: Rate) -> Estimate:
    """a − b of two independent proportions: Newcombe's hybrid score interval and the score
    test's p (statsmodels' `confint_proportions_2indep` / `test_proportions_2indep`)."""
    from statsmodels.stats.proportion import (
        confint_proportions_2indep,
        test_proportions_2indep,
    )

    if a.n == 0 or b.n == 0:
        return Estimate(math.nan, math.nan, math.nan, math.nan, a.n + b.n)
    # statsmodels also computes the ratio and odds ratio, dividing by zero for a 0 % rate
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = confint_proportions_2indep(a.count, a.n, b.count, b.n, method="newcomb",
                                               alpha=ALPHA)
        same = a.count * b.n == b.count * a.n and a.count in (0, a.n)  # both 0 % or 100 %
        p = 1.0 if same else float(test_proportions_2indep(a.count, a.n, b.count,
                                                            b.n).pvalue)
    return Estimate(a.value - b.value, float(low), float(high), p, a.n + b.n)


def sample_size(difference: float, sd: float, power: float = 0.8) -> int:
    """Patients per arm for a two-sided test at `ALPHA` to detect `difference` with `power`,
    given the outcome's standard deviation `sd` (for ANCOVA: the residual one, σ·√(1 − ρ²);
    Borm, Fransen & Lemmens 2007), plus one for the covariate's degree of freedom."""
    from statsmodels.stats.power import TTestIndPower

    if not (difference > 0 and math.isfinite(difference)):
        raise ValueError(f"difference: must be a finite number > 0, got {difference!r}")
    if not (sd >= 0 and math.isfinite(sd)):
        raise ValueError(f"sd: must be a finite number >= 0, got {sd!r}")
    if sd == 0:
        return 2
    n = TTestIndPower().solve_power(effect_size=difference / sd, alpha=ALPHA, power=power,
                                    ratio=1.0, alternative="two-sided")
    return int(math.ceil(n)) + 1
