"""``overfitting``: validation loss turns up while training loss keeps improving, or a wide
gap opens between train and validation accuracy (high variance)."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule

RISE = 0.2  # val loss at the end at least 20 % above its minimum
GIVEN_BACK = 0.1  # and the rise undoes at least 10 % of the improvement made before it
GAP = 0.1  # train accuracy at least 10 points above val accuracy


class Overfitting(Rule):
    code = "overfitting"

    def check(self, ev: Evidence) -> Finding | None:
        val, train = ev.series("val_loss"), ev.series("train_loss")
        if len(val) < 5 or len(train) != len(val):
            return None
        best = min(range(len(val)), key=val.__getitem__)
        rise = (val[-1] - val[best]) / max(abs(val[best]), 1e-12)
        given_back = (val[-1] - val[best]) / max(val[0] - val[best], 1e-12)
        turned_up = (
            rise >= RISE
            and given_back >= GIVEN_BACK
            and best < len(val) - 2
            and train[-1] < train[best]
        )
        gap = ev.metrics.get("train_accuracy", 0.0) - ev.metrics.get("val_accuracy", 1.0)
        restored = (ev.extra.get("early_stopping") or {}).get("restored", False)
        if restored:
            turned_up = False  # the remedy is in place: only a remaining gap is news
        if not (turned_up or gap >= GAP):
            return None
        evidence = {
            "best_val_epoch": best + 1,
            "best_val_loss": val[best],
            "final_val_loss": val[-1],
            "val_loss_rise": rise,
            "train_loss_at_best": train[best],
            "final_train_loss": train[-1],
            "train_val_accuracy_gap": gap,
        }
        return Finding(
            self.code,
            "info" if restored else ("critical" if rise > 1.0 else "warning"),
            "The model memorises the training set (high variance)",
            f"Validation loss was lowest at epoch {best + 1} ({val[best]:.4g}) and ended "
            f"{rise:.0%} higher ({val[-1]:.4g}) while training loss kept falling "
            f"({train[best]:.4g} -> {train[-1]:.4g}); train accuracy exceeds validation by "
            f"{gap:.3f}. Every epoch after {best + 1} fitted noise, not signal."
            + (" Early stopping already restored the best weights." if restored else ""),
            evidence,
            _prescriptions(ev, best + 1),
        )


def _prescriptions(ev: Evidence, best_epoch: int) -> list[Prescription]:
    out = []
    if ev.cfg("train.early_stopping") is None:
        patience = max(3, min(20, best_epoch // 2))
        out.append(
            Prescription(
                f"stop near epoch {best_epoch} and keep its weights",
                {
                    "train.early_stopping": {
                        "monitor": "val_loss",
                        "patience": patience,
                        "restore_best": True,
                    }
                },
            )
        )
    if not ev.cfg("model.dropout"):
        out.append(
            Prescription("drop 30 % of hidden activations while training", {"model.dropout": 0.3})
        )
    if not ev.cfg("train.l2"):
        out.append(Prescription("penalise large weights (L2)", {"train.l2": 1e-4}))
    if len(ev.data.get("input_shape", [])) == 3 and ev.cfg("train.augment") is None:
        out.append(
            Prescription(
                "show label-preserving variations of the training images",
                {"train.augment": {"rotate": 10, "translate": 0.1}},
            )
        )
    hidden = ev.cfg("model.hidden") or []
    if hidden:
        smaller = [max(1, h // 2) for h in hidden]
        out.append(
            Prescription(
                "halve the hidden widths (less capacity to memorise)", {"model.hidden": smaller}
            )
        )
    out.append(Prescription("collect more training data (see `hone datacurve`)"))
    return out
