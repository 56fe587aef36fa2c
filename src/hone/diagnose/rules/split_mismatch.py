"""``split_mismatch``: train and val/test differ in label mix or input distribution by more than
chance, so validation numbers do not predict what training optimised.

Only evidence about the inputs and labels counts (never a generalisation gap, which is
overfitting's), and only a difference that random splitting cannot explain: a label mix whose
chi-square statistic is beyond the 0.1 % level, or a feature mean more than half a training
standard deviation away *and* beyond four standard errors of a difference of means on splits
this size (with many features, one is always half a deviation off by chance on small splits).
"""

from __future__ import annotations

import math
from typing import Any

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import finite

__all__ = ["SplitMismatch"]

LABEL_TVD = 0.1  # total variation distance between label distributions, and ...
Z_LABELS = 3.09  # ... a chi-square beyond the 0.1 % level
SHIFT = 0.5  # |mean difference| in training standard deviations, and ...
Z_SHIFT = 4.0  # ... beyond this many standard errors of a difference of means


def _tvd(a: list[float], b: list[float]) -> float:
    sa, sb = sum(a) or 1, sum(b) or 1
    return 0.5 * sum(abs(x / sa - y / sb) for x, y in zip(a, b, strict=False))


def _labels_differ(mine: list[float], theirs: list[float]) -> bool:
    """The two label counts are unlikely to be one mix split at random (chi-square test of
    homogeneity, its critical value by the Wilson-Hilferty approximation)."""
    kept = [(a, b) for a, b in zip(mine, theirs, strict=False) if a + b > 0]
    df = len(kept) - 1
    na, nb = sum(a for a, _ in kept), sum(b for _, b in kept)
    if df < 1 or not na or not nb:
        return False
    total = na + nb
    chi2 = 0.0
    for a, b in kept:
        expected_a, expected_b = (a + b) * na / total, (a + b) * nb / total
        chi2 += (a - expected_a) ** 2 / expected_a + (b - expected_b) ** 2 / expected_b
    h = 2 / (9 * df)
    critical = df * (1 - h + Z_LABELS * math.sqrt(h)) ** 3
    return chi2 > critical


class SplitMismatch(Rule):
    code = "split_mismatch"

    def check(self, ev: Evidence) -> Finding | None:
        stats: dict[str, Any] = ev.data.get("stats") or {}
        train = stats.get("train")
        if not isinstance(train, dict) or not train:
            return None
        label_gaps: dict[str, float] = {}
        shifts: dict[str, float] = {}
        for name in ("val", "test"):
            other = stats.get(name)
            if not isinstance(other, dict) or not other:
                continue
            mine, theirs = finite(train.get("class_counts")), finite(other.get("class_counts"))
            if mine and theirs and len(mine) == len(theirs) and _labels_differ(mine, theirs):
                label_gaps[name] = _tvd(mine, theirs)
            shift = _feature_shift(train, other)
            if shift is not None:
                shifts[name] = shift
        bad_labels = {k: v for k, v in label_gaps.items() if v >= LABEL_TVD}
        bad_features = {k: v for k, v in shifts.items() if v >= SHIFT}
        if not (bad_labels or bad_features):
            return None
        return _finding(ev, label_gaps, shifts, bad_labels, bad_features)


def _feature_shift(train: dict[str, Any], other: dict[str, Any]) -> float | None:
    """The largest feature (or target) mean difference, in training standard deviations,
    among those beyond ``Z_SHIFT`` standard errors; ``None`` when none is."""
    n_train, n_other = finite([train.get("n")]), finite([other.get("n")])
    se = math.sqrt(1 / n_train[0] + 1 / n_other[0]) if n_train and n_other else 0.0
    diffs = []
    for key_mean, key_std in (("mean", "std"), ("y_mean", "y_std")):
        means = zip(finite(train.get(key_mean)), finite(other.get(key_mean)),
                    finite(train.get(key_std)), strict=False)  # fmt: skip
        diffs += [abs(m2 - m1) / s for m1, m2, s in means if s > 1e-12]
    significant = [d for d in diffs if se == 0.0 or d > Z_SHIFT * se]
    return max(significant) if significant else None


def _finding(
    ev: Evidence,
    label_gaps: dict[str, float],
    shifts: dict[str, float],
    bad_labels: dict[str, float],
    bad_features: dict[str, float],
) -> Finding:
    parts = [
        f"{k}'s label mix differs from train's by {v:.0%} (total variation)"
        for k, v in bad_labels.items()
    ]
    parts += [
        f"a feature's mean in {k} is {v:.2f} training standard deviations from train's"
        for k, v in bad_features.items()
    ]
    shuffled = ev.cfg("data.split.shuffle", True) is not False
    stratified = ev.cfg("data.split.stratify", True) is not False
    causes = ([] if shuffled else ["data.split.shuffle"]) + (
        ["data.split.stratify"] if bad_labels and not stratified else []
    )
    return Finding(
        "split_mismatch",
        "warning",
        "The splits do not come from the same distribution",
        "; ".join(parts)
        + ". Scores on such a split measure the shift as much as the model."
        + ("" if causes else " The splits were shuffled: the data itself shifts (time, source)."),
        {
            "label_total_variation": label_gaps,
            "max_feature_shift_in_train_std": shifts,
            "shuffle": ev.cfg("data.split.shuffle"),
            "stratify": ev.cfg("data.split.stratify"),
        },
        [
            Prescription(
                "shuffle and stratify before splitting",
                {"data.split.shuffle": True, "data.split.stratify": True},
            ),
            Prescription("if the shift is real (new data differs), train on data like it"),
        ],
        causes=causes or ["data"],
    )
