"""``overfitting``: validation loss turns up while training loss keeps improving, or a wide
gap opens between train and validation accuracy (high variance).

The turn is judged against the curve's own noise: the smoothed validation loss at the end must
sit above its smoothed minimum by more than the epoch-to-epoch spread, not merely above the
single lowest point of a noisy curve."""

from __future__ import annotations

import math
import statistics

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import finite, noise_level, smooth

RISE = 0.2  # smoothed val loss at the end at least 20 % above its smoothed minimum
GIVEN_BACK = 0.04  # and the rise undoes at least 4 % of the improvement made before it
NOISE = 3.0  # and exceeds 3x the noise of the mean of the last epochs
GAP = 0.1  # train accuracy at least 10 points above val accuracy


class Overfitting(Rule):
    code = "overfitting"

    def check(self, ev: Evidence) -> Finding | None:
        val, train = ev.series("val_loss"), ev.series("train_loss")
        if len(val) < 5 or len(train) != len(val) or ev.status == "diverged":
            return None
        window = max(3, len(val) // 10) | 1
        sval, strain = smooth(val, window), smooth(train, window)
        best = min(range(len(sval)), key=sval.__getitem__)
        k = max(3, window)
        end = statistics.fmean(val[-k:])
        noise = noise_level(val, window) / math.sqrt(k)
        rise = (end - sval[best]) / max(abs(sval[best]), 1e-12)
        given_back = (end - sval[best]) / max(sval[0] - sval[best], 1e-12)
        train_improved = strain[-1] < strain[best]
        turned_up = (
            rise >= RISE
            and given_back >= GIVEN_BACK
            and end - sval[best] > NOISE * noise
            and best < len(val) - 2
            and train_improved
        )
        accuracies = finite([ev.metrics.get("train_accuracy"), ev.metrics.get("val_accuracy")])
        gap = accuracies[0] - accuracies[1] if len(accuracies) == 2 else 0.0
        restored = (ev.extra.get("early_stopping") or {}).get("restored", False)
        if restored:
            turned_up = False  # the remedy is in place: only a remaining gap is news
        if not (turned_up or gap >= GAP):
            return None
        evidence = {
            "best_val_epoch": best + 1,
            "best_val_loss_smoothed": sval[best],
            "final_val_loss_mean": end,
            "val_loss_rise": rise,
            "val_loss_noise": noise,
            "train_loss_at_best": strain[best],
            "final_train_loss": train[-1],
            "train_val_accuracy_gap": gap,
        }
        what = (
            f"Validation loss was lowest around epoch {best + 1} ({sval[best]:.4g}, smoothed) and "
            f"ended {rise:.0%} higher ({end:.4g}) — beyond its epoch-to-epoch noise — while "
            f"training loss kept falling ({strain[best]:.4g} -> {train[-1]:.4g}). "
            if turned_up
            else ""
        )
        return Finding(
            self.code,
            "info" if restored else ("critical" if rise > 1.0 and turned_up else "warning"),
            "The model memorises the training set (high variance)",
            what
            + f"Train accuracy exceeds validation accuracy by {gap:.3f}."
            + (" Early stopping already restored the best weights." if restored else ""),
            evidence,
            _prescriptions(ev, best + 1),
            harmful={"capacity": 1, "regularization": -1},
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
    dropout = float(ev.cfg("model.dropout") or 0.0)
    out.append(
        Prescription(
            "drop hidden activations while training",
            {"model.dropout": 0.3 if dropout < 0.3 else min(0.6, dropout + 0.2)},
        )
    )
    l2 = float(ev.cfg("train.l2") or 0.0)
    out.append(Prescription("penalise large weights (L2)", {"train.l2": l2 * 10 if l2 else 1e-4}))
    if len(ev.data.get("input_shape") or []) == 3 and ev.cfg("train.augment") is None:
        out.append(
            Prescription(
                "show label-preserving variations of the training images",
                {"train.augment": {"rotate": 10, "translate": 0.1}},
            )
        )
    hidden = ev.cfg("model.hidden") or []
    if hidden and max(hidden) > 1:
        smaller = [max(1, h // 2) for h in hidden]
        out.append(
            Prescription(
                "halve the hidden widths (less capacity to memorise)", {"model.hidden": smaller}
            )
        )
    out.append(Prescription("collect more training data (see `hone datacurve`)"))
    return out
