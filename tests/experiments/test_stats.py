"""Statistics on synthetic result sets whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from hone.config.names import higher_is_better
from hone.experiments.stats import compare_paired, summarize


def test_summary_matches_the_t_interval() -> None:
    values = [0.91, 0.93, 0.92, 0.95, 0.90]
    s = summarize(values)
    low, high = sps.t.interval(0.95, 4, loc=np.mean(values), scale=sps.sem(values))
    assert (s.ci_low, s.ci_high) == pytest.approx((low, high))
    assert summarize([]).n == 0
    one = summarize([0.5])  # one seed has no interval, not a zero-width one
    assert one.mean == 0.5 and np.isnan(one.ci_low) and np.isnan(one.ci_high)


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
    assert compare_paired([0.5], [0.4], "val_accuracy").verdict == "too few seeds"
    assert compare_paired([0.6, 0.7], [0.5, 0.6], "val_accuracy").verdict == "too few seeds"
    assert compare_paired([0.6, 0.7, 0.8], [0.5, 0.55, 0.7], "val_accuracy").verdict in (
        "better",
        "no detectable difference",
    )
    with pytest.raises(ValueError, match="equal lengths"):
        compare_paired([1.0, 2.0], [1.0], "val_accuracy")


def test_zero_spread_is_never_made_up_certainty() -> None:
    """Exact ties are no evidence; float-level differences are ties; a constant shift is
    judged by the sign test, whose p is never 0."""
    same = compare_paired([0.9, 0.8, 0.7], [0.9, 0.8, 0.7], "val_accuracy")
    assert same.verdict == "no detectable difference" and same.p_value == 1.0
    tiny = compare_paired([3e-14, 3e-14, 3e-14], [4e-14, 4e-14, 4e-14], "train_l2")
    assert tiny.verdict == "no detectable difference"
    shift3 = compare_paired([0.91, 0.81, 0.71], [0.9, 0.8, 0.7], "val_accuracy")
    assert shift3.p_value == pytest.approx(0.25) and shift3.verdict == "no detectable difference"
    shift6 = compare_paired([x + 0.01 for x in range(6)], list(range(6)), "val_accuracy")
    assert 0 < shift6.p_value < 0.05 and shift6.verdict == "better"


def test_bounded_metric_intervals_stay_in_bounds() -> None:
    s = summarize([0.99, 1.0, 0.72], metric="val_accuracy")
    assert s.ci_low >= 0.0 and s.ci_high <= 1.0 and "clipped" in s.ci_method


def test_the_detectable_effect_shrinks_with_seeds() -> None:
    from hone.experiments.stats import min_detectable_effect

    three, ten = min_detectable_effect(0.01, 3), min_detectable_effect(0.01, 10)
    assert three > ten > 0
    cmp = compare_paired([0.9, 0.91, 0.89], [0.905, 0.9, 0.9], "val_accuracy")
    assert cmp.verdict == "no detectable difference" and "could be detected" in cmp.note


def test_holm_correction() -> None:
    from hone.experiments.stats import holm

    assert holm([0.01, 0.04, 0.03]) == [True, False, False]
    assert holm([0.001, 0.01, 0.02]) == [True, True, True]


def test_an_improve_summary_keeps_improves_verdict_and_says_it_is_uncorrected() -> None:
    """The page and `experiments show` must not call 'no detectable difference' the step
    improve adopted; a compare of the same rows is corrected."""
    from hone.experiments.compare.summary import _holm

    def rows() -> list[dict[str, object]]:
        ps = [0.0153, 0.0572, 0.0153, 0.0572]
        return [{"name": f"v{i}", "vs": {"variant": "baseline", "p_value": p,
                 "verdict": "better"}} for i, p in enumerate(ps)]  # fmt: skip

    improve, compare = rows(), rows()
    _holm(improve, "improve")
    _holm(compare, "compare")
    assert improve[0]["vs"]["verdict"] == "better"  # type: ignore[index]
    assert "uncorrected" in improve[0]["vs"]["note"]  # type: ignore[index]
    assert compare[0]["vs"]["verdict"] == "no detectable difference"  # type: ignore[index]
