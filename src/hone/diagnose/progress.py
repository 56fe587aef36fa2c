"""What ``not_converged`` and ``lr_too_low`` both measure: whether the monitored loss was still
falling steadily when training ended, how fast compared with its start, and how far each step
moved the weights. Each rule decides on its own from this one measurement."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from hone.diagnose.evidence import Evidence
from hone.diagnose.signals import median_update_ratio, relative_drop, tail

__all__ = ["TINY_UPDATE", "LateProgress", "late_progress"]

STILL_FALLING = 0.02  # the last fifth improved the monitored loss by >= 2 %
STEADY = 0.7  # and >= 70 % of its steps went down
LINEAR = 0.5  # slow: the last fifth falls at >= half the pace of the first fifth
SMALL_UPDATE = 1e-3  # and a step moves the weights by < 0.1 % (healthy is around 1e-3)
TINY_UPDATE = 1e-4  # steps this small mean a too-low LR whatever the curve's shape
SHORT = 5  # fewer epochs than this have no trend to read


@dataclass
class LateProgress:
    """The monitored loss was still falling when training ended; ``slow`` when it fell as
    fast as at the start with small steps (the curve never began to bend)."""

    key: str
    epochs: int
    last: int  # epochs in the last fifth
    late: float  # relative drop over the last fifth
    early: float  # relative drop over the first fifth
    down: float  # share of the last fifth's epochs that went down
    update: float | None  # median update/weight ratio
    slow: bool

    def fell(self) -> str:
        """``val_loss fell 4.5% over the last 6 epochs`` (or ``in its last epoch``)."""
        over = "in its last epoch" if self.last == 1 else f"over the last {self.last} epochs"
        return f"{self.key} fell {self.late:.1%} {over}"

    def evidence(self, lr: float) -> dict[str, Any]:
        return {
            "monitored": self.key,
            "last_fifth_drop": self.late,
            "first_fifth_drop": self.early,
            "share_of_last_steps_down": self.down,
            "epochs": self.epochs,
            "lr": lr,
            "median_update_to_weight_ratio": self.update,
        }


def late_progress(ev: Evidence) -> LateProgress | None:
    """The measurement, or ``None`` when the run did not end still improving (or stopped
    early, or did not complete). A run of fewer than ``SHORT`` epochs has no trend to read:
    it counts as still improving when its last epoch lowered the loss by ``STILL_FALLING``
    (a single epoch always does), and as slow only when its steps were tiny."""
    key = "val_loss" if ev.has_val else "train_loss"
    curve = ev.series(key)
    if not curve or ev.status != "completed":
        return None
    if (ev.extra.get("early_stopping") or {}).get("stopped_epoch"):
        return None
    update = median_update_ratio(ev.telemetry) if ev.telemetry else None
    tiny_steps = update is not None and update < TINY_UPDATE
    if len(curve) < SHORT:
        return _short_progress(ev, key, curve, update, tiny_steps)
    end = tail(curve)
    down = sum(1 for a, b in pairwise(end) if b < a) / (len(end) - 1)
    late = relative_drop(end)
    early = relative_drop(curve[: len(end)])
    if down < STEADY or late <= 0 or (late < STILL_FALLING and not tiny_steps):
        return None
    small_steps = update is None or update < SMALL_UPDATE
    slow = tiny_steps or (early > 0 and late >= LINEAR * early and small_steps)
    return LateProgress(key, len(curve), len(end), late, early, down, update, slow)


def _short_progress(
    ev: Evidence, key: str, curve: list[float], update: float | None, tiny_steps: bool
) -> LateProgress | None:
    """A run of fewer than ``SHORT`` epochs: still improving when its last epoch lowered the
    monitored loss by ``STILL_FALLING`` (a single epoch always does) — or when validation
    loss, at its lowest one epoch before the end, ticked up once while training loss still
    fell by as much: one noisy epoch is no turn."""
    drop = relative_drop(curve[-2:]) if len(curve) >= 2 else 1.0
    if drop >= STILL_FALLING or tiny_steps:
        return LateProgress(key, len(curve), 1, drop, drop, 1.0, update, tiny_steps)
    train = ev.series("train_loss")
    if key == "train_loss" or len(curve) < 3 or len(train) != len(curve):
        return None
    ticked = (
        curve.index(min(curve)) == len(curve) - 2 and relative_drop(curve[-3:-1]) >= STILL_FALLING
    )
    fitting = relative_drop(train[-2:])
    if not ticked or fitting < STILL_FALLING:
        return None
    return LateProgress("train_loss", len(train), 1, fitting, fitting, 1.0, update, False)
