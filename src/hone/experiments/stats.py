"""Statistics for comparing runs over seeds: every number hone reports comes with its CI.

Variants are compared *paired*: run i of a variant and run i of the baseline share seed i, so
seed-to-seed noise cancels in their difference. A variant is ``better`` only when the paired
t-test rejects "no difference" at ``alpha`` and the bootstrap CI of the mean difference excludes
zero in the same direction; ``worse`` symmetrically; otherwise ``no detectable difference``.

Honest at the edges:

- Differences within float noise of zero are exact ties, and ties are no evidence.
- When every paired difference is the same (zero spread) the t-test is undefined; the sign
  test takes over (all n differences of one sign has p = 2 * 0.5^n), never p = 0.
- Below ``MIN_SEEDS`` (3) no verdict is given: two seeds cannot tell an effect from noise.
- Each comparison states the smallest effect its seeds could detect (80 % power).
- A mean of a bounded metric (accuracy in [0, 1]) gets an interval clipped to its bounds.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hone.config.names import higher_is_better

__all__ = [
    "MIN_SEEDS",
    "Comparison",
    "Summary",
    "bounds_of",
    "compare_paired",
    "format_p",
    "holm",
    "min_detectable_effect",
    "summarize",
]

MIN_SEEDS = 3
TIE = 1e-9  # differences below this (relative to the values' size) are float noise
TOO_FEW = "too few seeds"


def bounds_of(metric: str) -> tuple[float, float] | None:
    """The range a metric cannot leave (accuracy, F1, AUC in [0, 1]); None when unbounded."""
    if any(tag in metric for tag in ("accuracy", "acc", "f1", "auc", "precision", "recall")):
        return 0.0, 1.0
    if any(tag in metric for tag in ("loss", "mse", "mae", "rmse")):
        return 0.0, math.inf
    return None


def format_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    return "< 1e-4" if p < 1e-4 else f"{p:.4f}"


@dataclass
class Summary:
    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    ci_method: str = "t"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        half = (self.ci_high - self.ci_low) / 2
        return f"{self.mean:.4f} ± {half:.4f}"


def summarize(values: list[float], confidence: float = 0.95, metric: str = "") -> Summary:
    """Mean with a Student-t confidence interval, clipped to the metric's bounds. One value
    has no interval (NaN), not a zero-width one."""
    from scipy import stats as sps  # ~1 s to import: only when statistics are computed

    values = [float(v) for v in values if v is not None and math.isfinite(v)]
    n = len(values)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, "none")
    mean = statistics.fmean(values)
    if n == 1:
        return Summary(1, mean, math.nan, math.nan, math.nan, "none (one seed)")
    std = statistics.stdev(values)
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    low, high, method = mean - half, mean + half, "t"
    bounds = bounds_of(metric)
    if bounds is not None and (low < bounds[0] or high > bounds[1]):
        low, high = max(low, bounds[0]), min(high, bounds[1])
        method = f"t, clipped to [{bounds[0]:g}, {bounds[1]:g}]"
    return Summary(n, mean, std, low, high, method)


def min_detectable_effect(std: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true mean difference a paired t-test on ``n`` seeds finds with the given
    power, when paired differences vary with ``std``."""
    from scipy import stats as sps  # ~1 s to import: only when statistics are computed

    if n < 2 or not math.isfinite(std):
        return math.inf
    df = n - 1
    return float((sps.t.ppf(1 - alpha / 2, df) + sps.t.ppf(power, df)) * std / math.sqrt(n))


@dataclass
class Comparison:
    n: int
    mean_diff: float  # variant - baseline
    t_ci_low: float
    t_ci_high: float
    boot_ci_low: float
    boot_ci_high: float
    p_value: float
    verdict: str  # better | worse | no detectable difference | too few seeds
    test: str = "paired t-test + bootstrap"
    detectable: float = math.nan  # smallest effect these seeds could detect (80 % power)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ties_removed(diffs: np.ndarray, scale: float) -> np.ndarray:
    return np.where(np.abs(diffs) <= TIE * max(scale, 1.0), 0.0, diffs)


def compare_paired(
    variant: list[float],
    baseline: list[float],
    metric: str,
    alpha: float = 0.05,
    seed: int = 0,
    resamples: int = 5000,
) -> Comparison:
    """Paired comparison of ``variant`` against ``baseline`` (same seeds, same order)."""
    from scipy import stats as sps  # ~1 s to import: only when statistics are computed

    if len(variant) != len(baseline):
        raise ValueError(
            f"paired comparison needs equal lengths, got {len(variant)} and {len(baseline)}"
        )
    a, b = np.asarray(variant, dtype=float), np.asarray(baseline, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    scale = float(np.max(np.abs(np.concatenate([a, b])))) if n else 1.0
    diffs = _ties_removed(a - b, scale)
    mean = float(diffs.mean()) if n else math.nan
    good_up = higher_is_better(metric)
    if n < MIN_SEEDS:
        return Comparison(
            n, mean, math.nan, math.nan, math.nan, math.nan, math.nan, TOO_FEW,
            note=f"with {n} seed(s) a paired test cannot separate an effect from seed noise; "
            f"use --seeds {MIN_SEEDS} or more",
        )  # fmt: skip
    std = float(diffs.std(ddof=1))
    detectable = min_detectable_effect(std, n, alpha)
    if std <= TIE * max(scale, 1.0):
        # Zero spread: the t-test is undefined. Exact ties are no evidence; a constant shift
        # is judged by the sign test (all n of one sign: p = 2 * 0.5^n).
        nonzero = diffs[diffs != 0]
        if len(nonzero) == 0:
            same = "every paired run gave the same value"
            return Comparison(n, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, "no detectable difference",
                              "exact ties", 0.0, same)  # fmt: skip
        p = float(sps.binomtest(int((nonzero > 0).sum()), len(nonzero)).pvalue)
        verdict = "no detectable difference"
        if p < alpha:
            verdict = "better" if (mean > 0) == good_up else "worse"
        return Comparison(n, mean, mean, mean, mean, mean, p, verdict, "sign test (no spread)",
                          detectable, "every paired difference is the same")  # fmt: skip
    summary = summarize(list(diffs), 1 - alpha)
    p = float(sps.ttest_1samp(diffs, 0.0).pvalue)
    boot = sps.bootstrap(
        (diffs,),
        np.mean,
        confidence_level=1 - alpha,
        n_resamples=resamples,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    low, high = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
    verdict = "no detectable difference"
    if p < alpha and low > 0 and summary.ci_low > 0:
        verdict = "better" if good_up else "worse"
    elif p < alpha and high < 0 and summary.ci_high < 0:
        verdict = "worse" if good_up else "better"
    note = ""
    if verdict == "no detectable difference" and math.isfinite(detectable):
        note = f"with {n} seeds only a difference larger than {detectable:.3g} could be detected"
    return Comparison(n, mean, summary.ci_low, summary.ci_high, low, high, p, verdict,
                      detectable=detectable, note=note)  # fmt: skip


def holm(p_values: list[float], alpha: float = 0.05) -> list[bool]:
    """Holm's step-down correction: which of several comparisons stay significant."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    keep = [False] * len(p_values)
    m = len(p_values)
    for rank, i in enumerate(order):
        if not math.isfinite(p_values[i]) or p_values[i] > alpha / (m - rank):
            break
        keep[i] = True
    return keep
