"""``misleading_accuracy``: classes are imbalanced and accuracy looks fine while a minority
class is mostly missed (the rare-disease example: 95 % accuracy by never predicting it)."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import chance_accuracy, finite

IMBALANCED = 0.75  # the majority class holds >= 75 % of the training set
POOR_RECALL = 0.5  # and some class is recalled less than half the time


class MisleadingAccuracy(Rule):
    code = "misleading_accuracy"

    def check(self, ev: Evidence) -> Finding | None:
        found = ev.report()
        if ev.task != "classification" or found is None:
            return None
        split, report = found
        majority = chance_accuracy(ev)
        recalls = {}
        for cls, scores in (report.get("per_class") or {}).items():
            recall = finite([(scores or {}).get("recall")])
            support = finite([(scores or {}).get("support")])
            if recall and support and support[0] > 0:
                recalls[cls] = recall[0]
        if majority < IMBALANCED or not recalls or min(recalls.values()) >= POOR_RECALL:
            return None
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
        )
