"""``misleading_accuracy``: classes are imbalanced and accuracy looks fine while a minority
class is mostly missed (the rare-disease example: 95 % accuracy by never predicting it)."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import chance_accuracy, finite

IMBALANCED = 0.75  # the majority class holds >= 75 % of the training set
POOR_RECALL = 0.5  # and some class is recalled less than half the time
HEAVY = 0.9  # a majority this large makes accuracy misleading by itself, ...
MEASURED = 20  # ... unless the minority's recall is measured on this many rows
GOOD_RECALL = 0.8  # and found good
RARE = 0.25  # or a class has at most a quarter of the largest class's examples


class MisleadingAccuracy(Rule):
    code = "misleading_accuracy"

    def check(self, ev: Evidence) -> Finding | None:
        found = ev.report()
        if ev.task != "classification" or found is None:
            return None
        split, report = found
        majority = chance_accuracy(ev)
        recalls, supports = {}, {}
        for cls, scores in (report.get("per_class") or {}).items():
            recall = finite([(scores or {}).get("recall")])
            support = finite([(scores or {}).get("support")])
            if recall and support and support[0] > 0:
                recalls[cls], supports[cls] = recall[0], support[0]
        if not recalls:
            return None
        # Imbalanced: one class dominates, or (with several classes) a class is a small
        # fraction of the largest one. The failing class must be such a minority.
        rare = {c for c, n in supports.items() if n <= RARE * max(supports.values())}
        failing = {c for c, r in recalls.items() if r < POOR_RECALL}
        if not (failing and (majority >= IMBALANCED or rare & failing)):
            return self._unmeasured(ev, split, majority, recalls, supports)
        worst = min(recalls, key=recalls.__getitem__)
        acc = (finite([report.get("accuracy")]) or [float("nan")])[0]
        balanced = (finite([report.get("balanced_accuracy")]) or [float("nan")])[0]
        f1 = (
            finite([((report.get("average") or {}).get("f1") or {}).get("macro")]) or [float("nan")]
        )[0]
        return Finding(
            self.code,
            "warning",
            "Accuracy hides a failing minority class",
            f"On {split}, accuracy is {acc:.3f}, but predicting the majority class alone would "
            f"score {majority:.3f}. Class '{worst}' is recalled only {recalls[worst]:.1%} of the "
            f"time; balanced accuracy is {balanced:.3f} and macro F1 {f1:.3f}. "
            "Judge this model by recall per class and F1, not accuracy.",
            {
                "split": split,
                "accuracy": acc,
                "majority_share": majority,
                "recall_by_class": recalls,
                "balanced_accuracy": balanced,
                "f1_macro": f1,
            },
            [
                Prescription(
                    "weight the loss by inverse class frequency", {"train.class_weight": "balanced"}
                ),
                Prescription(
                    "stratify the splits so every split has the minority class",
                    {"data.split.stratify": True},
                ),
                Prescription("collect more examples of the minority class"),
            ],
            causes=["train.class_weight", "data.sampler"],
        )

    def _unmeasured(
        self,
        ev: Evidence,
        split: str,
        majority: float,
        recalls: dict[str, float],
        supports: dict[str, float],
    ) -> Finding | None:
        """A heavy majority whose minority is too rare in the split to measure: accuracy is
        misleading by construction, whatever this split happened to show (info)."""
        if majority < HEAVY:
            return None
        minority = min(supports, key=supports.__getitem__)
        if supports[minority] >= MEASURED and recalls[minority] >= GOOD_RECALL:
            return None
        return Finding(
            self.code,
            "info",
            "Accuracy mostly measures the majority class",
            f"The majority class holds {majority:.0%} of the training set, so accuracy rewards "
            f"predicting it. Class '{minority}' has only {supports[minority]:.0f} rows in "
            f"{split} (recalled {recalls[minority]:.0%} of the time): too few to show how the "
            "model treats it. Judge it by balanced accuracy and F1, and weight the loss.",
            {"split": split, "majority_share": majority, "minority": minority,
             "minority_support": supports[minority], "minority_recall": recalls[minority]},
            [Prescription("weight the loss by inverse class frequency",
                          {"train.class_weight": "balanced"}),
             Prescription("collect more examples of the minority class")],
            causes=["train.class_weight", "data.sampler"],
        )  # fmt: skip
