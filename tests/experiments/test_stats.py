"""Statistics on synthetic result sets whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from hone.experiments.stats import compare_paired, higher_is_better, summarize


def test_summary_matches_the_t_interval() -> None:
    values = [0.91, 0.93, 0.92, 0.95, 0.90]
    s = summarize(values)
    low, high = sps.t.interval(0.95, 4, loc=np.mean(values), scale=sps.sem(values))
    assert (s.ci_low, s.ci_high) == pytest.approx((low, high))
    assert summarize([0.5]).ci_low == 0.5 and summarize([]).n == 0


def test_identical_distributions_rarely_differ() -> None:
    """Under the null the false-positive rate stays near alpha (5 %)."""
    rng = np.random.default_rng(0)
    trials, hits = 400, 0
    for i in range(trials):
        seed_effect = rng.normal(0, 0.02, 5)  # shared by both arms: paired
        a = 0.9 + seed_effect + rng.normal(0, 0.005, 5)
        b = 0.9 + seed_effect + rng.normal(0, 0.005, 5)
        verdict = compare_paired(list(a), list(b), "val_accuracy", seed=i, resamples=500).verdict
        hits += verdict != "no detectable difference"
    assert hits / trials <= 0.08


def test_a_clear_shift_is_detected_in_the_right_direction() -> None:
    rng = np.random.default_rng(1)
    seed_effect = rng.normal(0, 0.02, 5)
    base = list(0.90 + seed_effect + rng.normal(0, 0.003, 5))
    better = list(0.93 + seed_effect + rng.normal(0, 0.003, 5))
    cmp = compare_paired(better, base, "val_accuracy")
    assert cmp.verdict == "better" and cmp.p_value < 0.01 and cmp.boot_ci_low > 0
    assert compare_paired(base, better, "val_accuracy").verdict == "worse"
    # For losses lower is better: the same shift is now an improvement of the other arm.
    assert compare_paired(better, base, "val_loss").verdict == "worse"


def test_pairing_beats_unpaired_noise() -> None:
    """Seed noise far larger than the effect: only a paired test can see the effect."""
    seed_effect = [0.0, 0.05, -0.05, 0.10, -0.10]
    base = [0.8 + e for e in seed_effect]
    variant = [
        b + 0.01 + d for b, d in zip(base, [0.001, -0.001, 0.0005, 0.0, -0.0005], strict=True)
    ]
    assert compare_paired(variant, base, "val_accuracy").verdict == "better"
    assert sps.ttest_ind(variant, base).pvalue > 0.5  # an unpaired test sees nothing


def test_direction_and_edge_cases() -> None:
    assert higher_is_better("val_accuracy") and not higher_is_better("val_loss")
    assert compare_paired([0.5], [0.4], "val_accuracy").verdict == "no detectable difference"
    assert compare_paired([0.6, 0.7], [0.5, 0.6], "val_accuracy").verdict == "better"
    with pytest.raises(ValueError, match="equal lengths"):
        compare_paired([1.0, 2.0], [1.0], "val_accuracy")
