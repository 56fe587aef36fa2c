"""``not_converged``: still improving steadily at the last epoch, at a pace that has already
slowed (a curve that never bent is ``lr_too_low``)."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.rules.progress import late_progress
from hone.diagnose.signals import nice

__all__ = ["NotConverged"]


class NotConverged(Rule):
    code = "not_converged"

    def check(self, ev: Evidence) -> Finding | None:
        progress = late_progress(ev)
        if progress is None or progress.slow:
            return None
        lr = float(ev.cfg("train.optimizer.lr", 0.0))
        epochs = progress.epochs
        guard = (
            {}
            if ev.cfg("train.early_stopping") or not ev.has_val
            else {"train.early_stopping": {"patience": max(5, epochs // 10)}}
        )
        return Finding(
            self.code,
            "info",
            "Training stopped while the model was still improving",
            f"{progress.key} fell {progress.late:.1%} over the last {progress.last} epochs and "
            f"kept falling in {progress.down:.0%} of them: more epochs should help.",
            progress.evidence(lr),
            [
                Prescription(
                    "train twice as long, with early stopping as a guard",
                    {"train.epochs": 2 * epochs, **guard},
                ),
                Prescription(
                    "a larger learning rate reaches the minimum sooner",
                    {"train.optimizer.lr": nice(lr * 3)},
                ),
            ],
            harmful={"epochs": -1},
        )
