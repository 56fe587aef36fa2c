"""What ``overfitting`` and ``overconfidence`` both measure: whether validation loss turned up
while training loss kept improving, judged against the curve's own noise, and the gap between
training and validation scores."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from hone.diagnose.evidence import Evidence
from hone.diagnose.signals import finite, noise_level, smooth

__all__ = ["Turn", "score_gap", "val_turn"]

RISE = 0.2  # smoothed val loss at the end at least 20 % above its smoothed minimum
GIVEN_BACK = 0.04  # and the rise undoes at least 4 % of the improvement made before it
NOISE = 3.0  # and exceeds 3x the noise of the mean of the last epochs


@dataclass
class Turn:
    best_epoch: int  # 1-based epoch of the smoothed minimum
    best: float  # smoothed val loss there
    end: float  # mean val loss over the last epochs
    rise: float  # relative rise from best to end
    noise: float
    train_at_best: float
    train_end: float


def val_turn(ev: Evidence) -> Turn | None:
    """The turn of validation loss, or ``None`` when it did not turn up beyond its noise
    while training loss kept improving."""
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
    turned = (
        rise >= RISE
        and given_back >= GIVEN_BACK
        and end - sval[best] > NOISE * noise
        and best < len(val) - 2
        and strain[-1] < strain[best]
    )
    if not turned:
        return None
    return Turn(best + 1, sval[best], end, rise, noise, strain[best], train[-1])


def score_gap(ev: Evidence) -> tuple[float, str] | None:
    """Training score minus validation score (accuracy, or R² for regression) and its name."""
    if ev.task == "regression":
        pair = [(ev.evaluation.get(s) or {}).get("r2") for s in ("train", "val")]
        name = "R²"
    else:  # the final metrics: mid-run (live diagnosis) there are none to compare
        pair = [ev.metrics.get("train_accuracy"), ev.metrics.get("val_accuracy")]
        name = "accuracy"
    values = finite(pair)
    if len(values) != 2 or len(finite(pair[:1])) != 1:
        return None
    return values[0] - values[1], name
