"""``not_converged`` (still improving steadily at the last epoch) and ``lr_too_low`` (steady
but slow progress: the curve has not begun to bend, or each step moves the weights by less
than 0.01 % of their size, a tenth of the healthy ~1e-3 update/weight ratio)."""

from __future__ import annotations

from itertools import pairwise

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import (
    SAFE_LR,
    longer,
    median_update_ratio,
    nice,
    relative_drop,
    tail,
)

STILL_FALLING = 0.02  # the last fifth improved the monitored loss by >= 2 %
STEADY = 0.7  # and >= 70 % of its steps went down
LINEAR = 0.5  # lr_too_low: the last fifth falls at >= half the pace of the first fifth
SMALL_UPDATE = 1e-3  # and a step moves the weights by < 0.1 % (healthy is around 1e-3)
TINY_UPDATE = 1e-4  # steps this small mean a too-low LR whatever the curve's shape


class NotConverged(Rule):
    code = "not_converged"

    def check(self, ev: Evidence) -> Finding | None:
        key = "val_loss" if ev.has_val else "train_loss"
        curve = ev.series(key)
        if len(curve) < 5 or ev.status != "completed":
            return None
        if (ev.extra.get("early_stopping") or {}).get("stopped_epoch"):
            return None
        end = tail(curve)
        down = sum(1 for a, b in pairwise(end) if b < a) / (len(end) - 1)
        late = relative_drop(end)
        start = curve[: len(end)]
        early = relative_drop(start)
        update = median_update_ratio(ev.telemetry) if ev.telemetry else None
        tiny_steps = update is not None and update < TINY_UPDATE
        if down < STEADY or late <= 0 or (late < STILL_FALLING and not tiny_steps):
            return None
        small_steps = update is None or update < SMALL_UPDATE
        slow = tiny_steps or (early > 0 and late >= LINEAR * early and small_steps)
        lr = float(ev.cfg("train.optimizer.lr", 0.0))
        name = str(ev.cfg("train.optimizer.name", "adam"))
        epochs = len(curve)
        evidence = {
            "monitored": key,
            "last_fifth_drop": late,
            "first_fifth_drop": early,
            "share_of_last_steps_down": down,
            "epochs": epochs,
            "lr": lr,
            "median_update_to_weight_ratio": update,
        }
        if slow:
            # A tenth of the optimizer's safe rate at least: a curve this straight is far
            # from the right step size, and x10 alone often leaves it slow.
            safe = SAFE_LR.get(name, 0.01)
            higher = nice(max(lr * 3, min(max(lr * 10, safe / 10), safe)))
            remedies = [
                Prescription(f"a larger learning rate ({higher:g})", {"train.optimizer.lr": higher})
            ]
            if name in ("sgd", "momentum", "nesterov", "adagrad"):
                remedies.append(
                    Prescription(
                        "Adam at its usual learning rate (0.001) adapts the step per weight",
                        {"train.optimizer": {"name": "adam", "lr": max(lr, 0.001)}},
                    )
                )
            remedies.append(Prescription("train longer", {"train.epochs": longer(ev, epochs)}))
            return Finding(
                "lr_too_low",
                "warning",
                "The learning rate is too low",
                f"{key} fell {late:.1%} over the last {len(end)} epochs, as fast as at the "
                f"start ({early:.1%}): with lr {lr:g} the curve has not begun to flatten.",
                evidence,
                remedies,
                harmful={"lr": -1, "epochs": -1},
            )
        return Finding(
            self.code,
            "info",
            "Training stopped while the model was still improving",
            f"{key} fell {late:.1%} over the last {len(end)} epochs and kept falling in "
            f"{down:.0%} of them: more epochs should help.",
            evidence,
            [
                Prescription(
                    "train twice as long, with early stopping as a guard",
                    {
                        "train.epochs": 2 * epochs,
                        **(
                            {}
                            if ev.cfg("train.early_stopping") or not ev.has_val
                            else {"train.early_stopping": {"patience": max(5, epochs // 10)}}
                        ),
                    },
                ),
                Prescription(
                    "a larger learning rate reaches the minimum sooner",
                    {"train.optimizer.lr": nice(lr * 3)},
                ),
            ],
            harmful={"epochs": -1},
        )
