"""``overconfidence``: validation loss rises while validation accuracy holds — the model grows
more certain of the answers it gets wrong. A calibration matter (info), not memorisation:
accuracy is not what it costs. Early stopping on validation loss keeps the best-calibrated
weights; label smoothing also tempers confidence."""

from __future__ import annotations

from hone.diagnose.achievable import achievable
from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.rules.turn import score_gap, val_turn

__all__ = ["Overconfidence"]

MIN_GAP = 0.03  # overfitting's: a wider accuracy gap is memorisation, not confidence


class Overconfidence(Rule):
    code = "overconfidence"

    def check(self, ev: Evidence) -> Finding | None:
        if ev.task != "classification" or (ev.extra.get("early_stopping") or {}).get("restored"):
            return None
        turn = val_turn(ev)
        measured = score_gap(ev)
        if turn is None or measured is None:
            return None
        target = achievable(ev)
        if measured[0] > max(MIN_GAP, target.margin if target is not None else MIN_GAP):
            return None  # accuracy pays for it: that is overfitting
        remedies = []
        if ev.cfg("train.early_stopping") is None:
            remedies.append(
                Prescription(
                    f"stop on validation loss near epoch {turn.best_epoch} and keep its weights",
                    {"train.early_stopping": {"monitor": "val_loss",
                                              "patience": max(3, min(20, turn.best_epoch // 2)),
                                              "restore_best": True}},
                )
            )  # fmt: skip
        if not ev.cfg("train.label_smoothing"):
            remedies.append(Prescription("temper confidence (label smoothing)",
                                         {"train.label_smoothing": 0.1}))  # fmt: skip
        return Finding(
            self.code,
            "info",
            "Validation loss rises while accuracy holds: the model is over-confident",
            f"Validation loss was lowest around epoch {turn.best_epoch} ({turn.best:.4g}) and "
            f"ended {turn.rise:.0%} higher ({turn.end:.4g}), yet validation accuracy is within "
            f"{measured[0]:.3f} of training accuracy: the model grows surer of its mistakes, "
            "it does not memorise. Its probabilities are less calibrated than at the minimum.",
            {"best_val_epoch": turn.best_epoch, "val_loss_rise": turn.rise,
             "train_val_accuracy_gap": measured[0]},
            remedies,
            causes=["train.early_stopping"] if ev.cfg("train.early_stopping") is None else [],
        )  # fmt: skip
