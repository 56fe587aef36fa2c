"""``split_mismatch``: train and val/test differ in label mix or feature distribution, so
validation numbers do not predict what training optimised."""

from __future__ import annotations

from typing import Any

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import finite

LABEL_TVD = 0.1  # total variation distance between label distributions
SHIFT = 0.5  # |mean difference| in training standard deviations


def _tvd(a: list[float], b: list[float]) -> float:
    sa, sb = sum(a) or 1, sum(b) or 1
    return 0.5 * sum(abs(x / sa - y / sb) for x, y in zip(a, b, strict=False))


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
            if mine and theirs and len(mine) == len(theirs):
                label_gaps[name] = _tvd(mine, theirs)
            means = zip(
                finite(train.get("mean")),
                finite(other.get("mean")),
                finite(train.get("std")),
                strict=False,
            )
            diffs = [abs(m2 - m1) / s for m1, m2, s in means if s > 1e-12]
            if diffs:
                shifts[name] = max(diffs)
        bad_labels = {k: v for k, v in label_gaps.items() if v >= LABEL_TVD}
        bad_features = {k: v for k, v in shifts.items() if v >= SHIFT}
        if not (bad_labels or bad_features):
            return None
        parts = [
            f"{k}'s label mix differs from train's by {v:.0%} (total variation)"
            for k, v in bad_labels.items()
        ]
        parts += [
            f"a feature's mean in {k} is {v:.2f} training standard deviations from train's"
            for k, v in bad_features.items()
        ]
        return Finding(
            self.code,
            "warning",
            "The splits do not come from the same distribution",
            "; ".join(parts) + ". Scores on such a split measure the shift as much as the model.",
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
        )
