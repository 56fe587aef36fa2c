"""``underfitting``: the model does not fit its own training data as well as the data allows
(high avoidable bias).

*As well as the data allows* is read from a reference (``hone.diagnose.achievable``): the
target error the user gave, or the best reference model on the same validation split. A run
whose training score falls short of it by more than the noise of that split underfits; a run
within that noise is at the data's noise floor, however low its accuracy. Without any
reference (data given from Python), the fallback is the textbook threshold: training
accuracy that recovered less than 60 % of the way from chance to perfect.

The finding names the settings that can explain it (``hone.diagnose.settings``), the
strongest first: regularisation, a schedule that killed the learning rate, early stopping that
stopped too soon, a loss that does not fit the task; capacity only when nothing else does.
"""

from __future__ import annotations

from hone.diagnose.achievable import Achievable, achievable, score_of
from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.settings import suspects_for_underfitting
from hone.diagnose.signals import chance_accuracy, relative_drop, tail
from hone.diagnose.suspect import Suspect

__all__ = ["Underfitting"]

RECOVERED = 0.6  # no reference: train accuracy recovers < 60 % of the way from chance
R2_FLOOR = 0.6  # no reference, regression: train R² below this
FLAT = 0.02  # the last fifth of training improved train loss by < 2 %
STRONG = 0.9  # a suspect this strong halves the shortfall that counts as one ...
WEAK_PRIORS = ("train.epochs", "train.batch_size")  # ... unless it is these
# A shortfall beyond the reference's noise is news; a warning needs one of twice that (a
# model a point or two short of a neighbours model after 3 epochs is worth a note, not an
# alarm).
CLEAR = 2.0


class Underfitting(Rule):
    code = "underfitting"

    def check(self, ev: Evidence) -> Finding | None:
        train_loss = ev.series("train_loss")
        if len(train_loss) < 2 or ev.status == "diverged":
            return None
        train = score_of(ev, "train")
        if train is None:
            return None
        target = achievable(ev)
        suspects = suspects_for_underfitting(ev)
        strong = suspects[0].weight >= STRONG and suspects[0].key not in WEAK_PRIORS
        shortfall = _shortfall(ev, train, target, strong)
        if shortfall is None:
            return None
        threshold, against = shortfall
        flat = relative_drop(tail(train_loss)) < FLAT
        metric = "R²" if ev.task == "regression" else "accuracy"
        evidence = {
            f"train_{'r2' if ev.task == 'regression' else 'accuracy'}": train,
            "threshold": threshold,
            "against": against,
            "final_train_loss": train_loss[-1],
            "first_train_loss": train_loss[0],
            "loss_flat": flat,
            "epochs": len(train_loss),
            **({"achievable": target.to_json()} if target is not None else {}),
            "suspects": {s.key: s.why for s in suspects},
        }
        cause = suspects[0]
        clear = target is None or target.below(train) > CLEAR * target.margin
        return Finding(
            self.code,
            "warning" if clear else "info",
            "The model does not fit its own training data (avoidable bias)",
            f"Training {metric} is {train:.3f}, short of {threshold:.3f} ({against}). "
            f"Most likely cause: {cause.why}."
            + ("" if len(suspects) == 1 else f" Also possible: {_others(suspects[1:])}.")
            + ("" if clear else _unclear(target, train)),
            evidence,
            _prescriptions(ev, suspects),
            harmful={"capacity": -1, "regularization": 1},
            causes=[s.key for s in suspects],
        )


def _shortfall(
    ev: Evidence, train: float, target: Achievable | None, strong: bool
) -> tuple[float, str] | None:
    """(the score training should reach, what says so), or ``None`` when it reaches it. A
    strong suspect (a setting known to cost fit, such as dropout 0.8) needs no more evidence
    than a shortfall at all: the reference may itself fall short of what a network reaches,
    so such a run is never called at its noise floor (the finding is info unless the
    shortfall is clear, and ``--probe`` measures the setting's cost)."""
    if target is not None:
        if strong and target.source != "target_error":  # the user's target is not a floor
            return _held_at_reference(target, train)
        margin = 0.0 if strong else target.margin
        val = score_of(ev, "val") if ev.has_val else train
        if target.below(train) <= margin or target.below(val) <= margin:
            return None  # fits as well as the data allows, or generalises as well anyway
        return target.score - margin, f"achievable: {target.describe()}"
    if ev.task == "regression":
        return (R2_FLOOR, "no reference: the R² floor") if train < R2_FLOOR else None
    chance = chance_accuracy(ev)
    floor = chance + RECOVERED * (1 - chance)
    return (floor, "no reference: 60 % of the way from chance") if train < floor else None


def _held_at_reference(target: Achievable, train: float) -> tuple[float, str] | None:
    """A strong setting's shortfall: the reference models may fall short of what a network
    reaches, so training held at their level may be the setting's cost, even where
    validation reaches them. Short of passing them by their noise (or of a perfect score by
    it, or of them at all) counts; clearly above them it does not."""
    threshold = min(target.score + target.margin, max(target.score, 1.0 - target.margin))
    if train >= threshold:
        return None
    return threshold, f"what a network should pass: {target.describe()} plus its noise"


def _unclear(target: Achievable | None, train: float) -> str:
    if target is not None and target.clearly_below(train):
        return (" The shortfall is small (under twice the reference's noise): a probe "
                "measures whether the remedy is worth it.")  # fmt: skip
    return (" The shortfall is within the reference's noise, but the setting is a strong "
            "suspect: a probe measures its cost.")  # fmt: skip


def _others(suspects: list[Suspect]) -> str:
    return "; ".join(s.why for s in suspects[:2])


def _prescriptions(ev: Evidence, suspects: list[Suspect]) -> list[Prescription]:
    """Each suspect's remedies, the strongest suspect's first; then the optimizer's."""
    out = [p for s in suspects for p in s.remedies]
    if ev.cfg("train.optimizer.name") in ("sgd", "momentum", "nesterov", "adagrad"):
        out.append(
            Prescription(
                "Adam at its usual learning rate (0.001) adapts the step per weight",
                {"train.optimizer": {"name": "adam", "lr": 0.001}},
            )
        )
    return out
