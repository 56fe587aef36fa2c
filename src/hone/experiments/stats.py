"""Statistics for comparing runs over seeds: every number hone reports comes with its CI.

Variants are compared *paired*: run i of a variant and run i of the baseline share seed i, so
seed-to-seed noise cancels in their difference. A variant is ``better`` only when the paired
t-test rejects "no difference" at ``alpha`` and the bootstrap CI of the mean difference excludes
zero in the same direction; ``worse`` symmetrically; otherwise ``no detectable difference``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

__all__ = ["Comparison", "Summary", "compare_paired", "higher_is_better", "summarize"]


def higher_is_better(metric: str) -> bool:
    return not any(tag in metric for tag in ("loss", "error", "mse", "mae", "rmse"))


@dataclass
class Summary:
    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        half = (self.ci_high - self.ci_low) / 2
        return f"{self.mean:.4f} ± {half:.4f}"


def summarize(values: list[float], confidence: float = 0.95) -> Summary:
    """Mean with a Student-t confidence interval (degenerate for n = 1)."""
    n = len(values)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = statistics.fmean(values)
    if n == 1:
        return Summary(1, mean, 0.0, mean, mean)
    std = statistics.stdev(values)
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)


@dataclass
class Comparison:
    n: int
    mean_diff: float  # variant - baseline
    t_ci_low: float
    t_ci_high: float
    boot_ci_low: float
    boot_ci_high: float
    p_value: float
    verdict: str  # better | worse | no detectable difference

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def compare_paired(
    variant: list[float],
    baseline: list[float],
    metric: str,
    alpha: float = 0.05,
    seed: int = 0,
    resamples: int = 5000,
) -> Comparison:
    """Paired comparison of ``variant`` against ``baseline`` (same seeds, same order)."""
    if len(variant) != len(baseline):
        raise ValueError(
            f"paired comparison needs equal lengths, got {len(variant)} and {len(baseline)}"
        )
    diffs = np.asarray(variant, dtype=float) - np.asarray(baseline, dtype=float)
    n = len(diffs)
    mean = float(diffs.mean()) if n else math.nan
    if n < 2 or np.allclose(diffs, diffs[0]):
        # No spread: the t-test is undefined; an exactly constant non-zero shift is still a shift.
        verdict = "no detectable difference"
        if n >= 2 and abs(mean) > 0:
            verdict = "better" if (mean > 0) == higher_is_better(metric) else "worse"
        p = 0.0 if verdict != "no detectable difference" else 1.0
        return Comparison(n, mean, mean, mean, mean, mean, p, verdict)
    summary = summarize(list(diffs), 1 - alpha)
    p = float(sps.ttest_rel(variant, baseline).pvalue)
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
        verdict = "better" if higher_is_better(metric) else "worse"
    elif p < alpha and high < 0 and summary.ci_high < 0:
        verdict = "worse" if higher_is_better(metric) else "better"
    return Comparison(n, mean, summary.ci_low, summary.ci_high, low, high, p, verdict)
