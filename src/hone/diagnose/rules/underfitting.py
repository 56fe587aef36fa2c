"""``underfitting``: the model cannot fit even its training data (high bias)."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import chance_accuracy, longer, relative_drop, tail

RECOVERED = 0.6  # train accuracy recovers < 60 % of the way from chance to perfect
R2_FLOOR = 0.6  # regression: train R^2 below this
FLAT = 0.02  # the last fifth of training improved train loss by < 2 %


class Underfitting(Rule):
    code = "underfitting"

    def check(self, ev: Evidence) -> Finding | None:
        train = ev.series("train_loss")
        if len(train) < 3 or ev.status == "diverged":
            return None
        late_drop = relative_drop(tail(train))
        flat = late_drop < FLAT
        if ev.task == "regression":
            r2 = (ev.evaluation.get("train") or {}).get("r2")
            if not isinstance(r2, int | float) or r2 >= R2_FLOOR:
                return None
            score, floor, label = float(r2), R2_FLOOR, "train R²"
        else:
            acc = ev.metrics.get("train_accuracy")
            if not isinstance(acc, int | float):
                return None
            chance = chance_accuracy(ev)
            floor = chance + RECOVERED * (1 - chance)
            if acc >= floor:
                return None
            score, label = float(acc), "train accuracy"
        evidence = {
            label.replace(" ", "_").replace("²", "2"): score,
            "threshold": floor,
            "final_train_loss": train[-1],
            "first_train_loss": train[0],
            "last_fifth_loss_drop": late_drop,
            "loss_flat": flat,
            "epochs": len(train),
        }
        return Finding(
            self.code,
            "warning",
            "The model cannot fit its own training data (high bias)",
            f"{label} is {score:.3f}, below {floor:.3f}; train loss went {train[0]:.4g} -> "
            f"{train[-1]:.4g} and "
            + (
                "has flattened: more epochs alone will not help."
                if flat
                else "is still falling: more epochs may help, but capacity is the first suspect."
            ),
            evidence,
            _prescriptions(ev, flat),
            harmful={"capacity": -1, "regularization": 1},
        )


def _prescriptions(ev: Evidence, flat: bool) -> list[Prescription]:
    out = []
    hidden = list(ev.cfg("model.hidden") or [16])
    epochs = len(ev.series("train_loss"))
    for key in ("model.dropout", "train.l2", "train.l1"):
        if ev.cfg(key):
            out.append(
                Prescription(f"remove regularisation that limits fitting ({key})", {key: 0.0})
            )
    if ev.cfg("model.activation") in ("sigmoid", "tanh") and len(hidden) >= 3:
        out.append(
            Prescription(
                "LeakyReLU does not saturate, so gradients reach the early layers",
                {"model.activation": "leaky_relu", "model.init": "auto"},
            )
        )
    if len(hidden) >= 3:
        wider = [max(64, 2 * h) for h in hidden]
        out.append(Prescription("wider layers (more capacity per layer)", {"model.hidden": wider}))
    else:
        wider = [max(64, 4 * h) for h in hidden]
        out.append(
            Prescription(
                "a wider and deeper model (more capacity)", {"model.hidden": [*wider, wider[-1]]}
            )
        )
    if ev.cfg("train.optimizer.name") in ("sgd", "momentum", "nesterov", "adagrad"):
        out.append(
            Prescription(
                "Adam at its usual learning rate (0.001) adapts the step per weight",
                {"train.optimizer": {"name": "adam", "lr": 0.001}},
            )
        )
    why = "train longer: the loss is still falling" if not flat else "train longer"
    where = len(out) if flat else min(len(out), 2)
    out.insert(where, Prescription(why, {"train.epochs": longer(ev, epochs)}))
    return out
