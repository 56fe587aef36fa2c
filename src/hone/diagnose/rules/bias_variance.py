"""``bias_variance``: with ``data.target_error`` (human-level or Bayes error) given, split the
remaining error into avoidable bias (train error - target) and variance (val error - train
error), and say which to attack first."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import longer

MATERIAL = 0.01  # a gap under one point of error is not worth a finding


class BiasVariance(Rule):
    code = "bias_variance"

    def check(self, ev: Evidence) -> Finding | None:
        target = ev.cfg("data.target_error")
        train_acc, val_acc = ev.metrics.get("train_accuracy"), ev.metrics.get("val_accuracy")
        if not (
            isinstance(target, int | float)
            and isinstance(train_acc, int | float)
            and isinstance(val_acc, int | float)
        ):
            return None
        train_err, val_err = 1 - train_acc, 1 - val_acc
        bias, variance = train_err - target, val_err - train_err
        if max(bias, variance) < MATERIAL:
            return None
        first = "bias" if bias >= variance else "variance"
        evidence = {
            "target_error": target,
            "train_error": train_err,
            "val_error": val_err,
            "avoidable_bias": bias,
            "variance": variance,
            "attack_first": first,
        }
        if first == "bias":
            remedies = [
                Prescription(
                    "a bigger model",
                    {"model.hidden": [max(64, 4 * h) for h in ev.cfg("model.hidden") or [32]]},
                ),
                Prescription(
                    "train longer", {"train.epochs": longer(ev, len(ev.series("train_loss")))}
                ),
                Prescription(
                    "Adam at its usual learning rate (0.001)",
                    {"train.optimizer": {"name": "adam", "lr": 0.001}},
                ),
            ]
        else:
            remedies = [
                Prescription("regularise: dropout", {"model.dropout": 0.3}),
                Prescription("regularise: L2", {"train.l2": 1e-4}),
                Prescription("stop early", {"train.early_stopping": {"patience": 10}}),
                Prescription("more training data (see `hone datacurve`)"),
            ]
        advice = (
            "bias first: fit the training set better"
            if first == "bias"
            else "variance first: generalise better"
        )
        return Finding(
            self.code,
            "warning" if max(bias, variance) >= 0.02 else "info",
            f"Most of the remaining error is {'avoidable bias' if first == 'bias' else 'variance'}",
            f"Against a target error of {target:.3f}: avoidable bias (train error - target) is "
            f"{bias:.3f}, variance (val error - train error) is {variance:.3f}. Attack "
            f"{advice}.",
            evidence,
            remedies,
            causes=["model.hidden", "train.epochs"]
            if first == "bias"
            else ["model.dropout", "train.l2", "train.early_stopping"],
        )
