"""``not_converged``: training ended while the model was still improving — it ran out of
epochs (or optimizer steps) at a pace that had already slowed, or early stopping stopped a
loss that was still falling. (A curve that never bent is ``lr_too_low``; slow progress that
strong regularisation or a collapsed schedule explains is ``underfitting``'s.)"""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.progress import late_progress
from hone.diagnose.rules.base import Rule
from hone.diagnose.settings import slowed_by_setting
from hone.diagnose.signals import nice
from hone.diagnose.training_length import early_stopping, short_training

__all__ = ["NotConverged"]


class NotConverged(Rule):
    code = "not_converged"

    def check(self, ev: Evidence) -> Finding | None:
        if ev.status != "completed":
            return None
        stopped = early_stopping(ev)
        if stopped is not None:
            return Finding(
                self.code,
                "warning",
                "Early stopping stopped a model that was still improving",
                f"{stopped.why[0].upper()}{stopped.why[1:]}: it stopped a run that had more "
                "to learn.",
                stopped.evidence,
                stopped.remedies,
                harmful={"epochs": -1},
                causes=[stopped.key],
            )
        progress = late_progress(ev)
        if progress is None or progress.slow or slowed_by_setting(ev) is not None:
            return None
        short = short_training(ev)
        lr = float(ev.cfg("train.optimizer.lr", 0.0))
        remedies = [p for suspect in short for p in suspect.remedies]
        if ev.has_val and not ev.cfg("train.early_stopping"):
            guard = {"train.early_stopping": {"patience": max(5, progress.epochs // 10)}}
            remedies = [Prescription(f"{p.why}, with early stopping as a guard",
                                     {**p.patch, **guard}) if "train.epochs" in p.patch else p
                        for p in remedies]  # fmt: skip
        remedies.append(
            Prescription(
                "a larger learning rate reaches the minimum sooner",
                {"train.optimizer.lr": nice(lr * 3)},
            )
        )
        return Finding(
            self.code,
            "info",
            "Training stopped while the model was still improving",
            progress.fell()
            + (f" and kept falling in {progress.down:.0%} of them" if progress.last > 1 else "")
            + ": more epochs should help.",
            progress.evidence(lr),
            remedies,
            harmful={"epochs": -1},
            causes=[suspect.key for suspect in short] or ["train.epochs"],
        )
