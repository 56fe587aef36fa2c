"""How long a run trained, as a cause: early stopping that stopped a value still improving
(or a model still fitting), too few epochs for a loss still falling, too few optimizer steps
(a big batch, or epochs capped by ``train.steps_per_epoch``), and steps too small to move the
weights (``hone.diagnose.settings`` weighs them against the other settings)."""

from __future__ import annotations

import math
from itertools import pairwise

from hone.config.names import direction_known, higher_is_better
from hone.diagnose.achievable import achievable, score_of
from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Prescription
from hone.diagnose.progress import SHORT, late_progress
from hone.diagnose.signals import (
    FEW_STEPS,
    SAFE_LR,
    dropout_thinned,
    finite,
    longer,
    nice,
    relative_drop,
    steps_per_epoch,
    train_rows,
    untrained_loss,
)
from hone.diagnose.suspect import Suspect

__all__ = [
    "early_stopping",
    "few_steps",
    "rate_for_tiny_steps",
    "short_training",
    "tiny_steps",
    "too_short",
]

STEEP = 0.05  # early stopping stopped training whose loss still fell >= 5 % ...
WORSENING = 0.75  # ... unless the watched value got worse in this share of epochs since its best
FEW_PER_EPOCH = 2  # a run of few steps whose epochs are this few steps blames the batch (or
# the cap on an epoch's steps) ...
BATCH_BOUND = 0.85  # ... ahead of the epochs (0.8)


def early_stopping(ev: Evidence) -> Suspect | None:
    """Early stopping that stopped while the value it watched was still improving (each step
    better than the best it had counted, only by less than ``min_delta``), or while training
    loss still fell steeply in a run that falls short of what is achievable."""
    stopped = (ev.extra.get("early_stopping") or {}).get("stopped_epoch")
    settings = ev.cfg("train.early_stopping") or {}
    if not stopped or not isinstance(settings, dict):
        return None
    monitor = str(settings.get("monitor") or "val_loss")
    watched = ev.series(monitor)
    best = finite([(ev.extra.get("early_stopping") or {}).get("best_value")])
    if len(watched) < 2:
        return None
    if (reversed_ := _reversed_mode(ev, monitor, str(settings.get("mode") or "auto"))) is not None:
        return reversed_
    # Still improving: the value it stopped at beats the best it had counted — each step
    # improved, only by less than min_delta. (A normal stop comes after a stall or a rise.)
    up = higher_is_better(monitor)
    last = watched[-1]
    improving = bool(best) and (last > best[0] if up else last < best[0])
    change = (watched[-2] - last) / max(abs(watched[-2]), 1e-12) * (-1 if up else 1)
    if not improving and (_worsening(watched, up) or not _stopped_while_fitting(ev)):
        return None
    epochs = int(ev.cfg("train.epochs", 0) or 0)
    patience = int(settings.get("patience", 10))
    delta = float(settings.get("min_delta", 0.0))
    still = (
        f"{monitor} was still improving ({change:.0%} in its last epoch)"
        if improving
        else f"the training loss still fell {relative_drop(ev.series('train_loss')[-3:]):.0%} "
        "over its last epochs, short of what is achievable"
    )
    return Suspect(
        "train.early_stopping",
        f"early stopping stopped at epoch {stopped} of {epochs} (patience {patience}, "
        f"min_delta {delta:g}) while {still}",
        0.95,
        [Prescription("let early stopping wait for real stalls",
                      {"train.early_stopping.patience": max(10, 3 * patience),
                       "train.early_stopping.min_delta": 0.0})],
        {"stopped_epoch": stopped, "patience": patience, "min_delta": delta,
         f"{monitor}_change_at_stop": change},
    )  # fmt: skip


def _reversed_mode(ev: Evidence, monitor: str, mode: str) -> Suspect | None:
    """Early stopping told to count the wrong direction as better (``mode: max`` on a loss,
    ``min`` on an accuracy) stops once the value has *improved* for ``patience`` epochs: the
    cause is the mode, and more patience would only stop it later."""
    up = higher_is_better(monitor)
    if mode == "auto" or (mode == "max") == up or not direction_known(monitor):
        return None
    stopped = (ev.extra.get("early_stopping") or {}).get("stopped_epoch")
    better = "higher" if up else "lower"
    return Suspect(
        "train.early_stopping.mode",
        f"early stopping stopped at epoch {stopped} of {int(ev.cfg('train.epochs', 0) or 0)} "
        f"counting a {'lower' if up else 'higher'} {monitor} as better (mode: {mode}), where a "
        f"{better} one is",
        0.97,
        [Prescription(f"count a {better} {monitor} as better",
                      {"train.early_stopping.mode": "auto"})],
        {"stopped_epoch": stopped, "mode": mode, "monitor": monitor},
    )  # fmt: skip


def _worsening(watched: list[float], up: bool) -> bool:
    """The watched value got worse in ``WORSENING`` of the epochs since its best: more
    epochs would have taken validation further from it, whatever training still gained."""
    values = [-v for v in watched] if up else list(watched)
    best = min(range(len(values)), key=values.__getitem__)
    after = values[best:]
    if len(after) < 3:
        return False
    worse = sum(1 for a, b in pairwise(after) if b > a)
    return worse >= WORSENING * (len(after) - 1)


def _stopped_while_fitting(ev: Evidence) -> bool:
    """Training loss still fell steeply in a model that does not yet fit its own training
    data as well as the data allows: it was stopped mid-climb, its last epoch its lowest
    training loss so far. (A model that fits and whose validation loss stalled was stopped
    where it should be, however fast its training loss still falls: that is memorisation. A
    loss bouncing back towards a low it had passed, as strong weight decay makes it, or one
    still above what a model that learned nothing scores, was stopped on its way to nothing
    new.)"""
    train = ev.series("train_loss")
    if len(train) < 2 or relative_drop(train[-3:]) < STEEP or dropout_thinned(ev):
        return False  # (a loss dropout inflates or thins falls as the net adapts to it)
    if train[-1] > min(train[:-1]):
        return False  # falling back towards a low it had passed: a bounce, not a climb
    untrained = untrained_loss(ev)
    if untrained is not None and train[-1] >= untrained[0]:
        return False  # no lower than a model that learned nothing: dropout's inflation waning
    target = achievable(ev)
    if target is None:
        return False
    val = score_of(ev, "val" if ev.has_val else "train")
    # ... and the stop cost something: validation, too, falls short of what is achievable.
    return min(target.below(score_of(ev, "train")), target.below(val)) > target.margin / 2


def short_training(ev: Evidence) -> list[Suspect]:
    """Too few epochs for a loss that was still falling (or for any trend to show, in a run
    of few optimizer steps) — and, when the whole run took few steps, too large a batch to
    take more."""
    epochs = len(ev.series("train_loss"))
    if not epochs or (ev.extra.get("early_stopping") or {}).get("stopped_epoch"):
        return []
    why = " while the loss was still falling"
    if late_progress(ev) is None and few_steps(ev):
        why = f", {epochs * steps_per_epoch(ev)} optimizer steps in all"
    found = [
        Suspect(
            "train.epochs",
            f"training ended after {epochs} epochs{why}",
            0.8,
            [Prescription("train longer", {"train.epochs": longer(ev, epochs)})],
        )
    ]
    few = _few_steps(ev, epochs)
    if few is not None:
        found.append(few)
    return sorted(found, key=lambda s: -s.weight)  # the batch first where it kept steps few


def few_steps(ev: Evidence) -> bool:
    """The whole run took fewer than ``FEW_STEPS`` optimizer steps and was not stopped
    early: a flat stretch that short is as likely a plateau as the end (a moons net at the
    linear model's level after 30 full-batch steps learns the curve within a few hundred)."""
    steps = len(ev.series("train_loss")) * steps_per_epoch(ev)
    stopped = (ev.extra.get("early_stopping") or {}).get("stopped_epoch")
    return ev.status == "completed" and 0 < steps < FEW_STEPS and not stopped


def _few_steps(ev: Evidence, epochs: int) -> Suspect | None:
    """A run of few optimizer steps in all: a cap on its epochs' batches, else a batch so
    large that an epoch is a few steps."""
    steps = epochs * steps_per_epoch(ev)
    if not steps or steps >= FEW_STEPS:
        return None
    batch = ev.cfg("train.batch_size")
    if batch == "full":  # the whole training split a step
        batch = train_rows(ev)
    capped = ev.cfg("train.steps_per_epoch")
    if capped and capped * epochs == steps:
        return Suspect(
            "train.steps_per_epoch",
            f"only {steps} optimizer steps in {epochs} epochs (capped at {capped} each)",
            BATCH_BOUND if capped <= FEW_PER_EPOCH else 0.6,
            [Prescription("every batch of each epoch", {"train.steps_per_epoch": None})],
        )
    if not isinstance(batch, int) or batch <= 8:
        return None
    # A power of two that takes FEW_STEPS in as many epochs, at most a quarter of the batch.
    enough = 2 ** int(math.log2(max(1, train_rows(ev) * epochs // FEW_STEPS)))
    smaller = max(8, min(batch // 4, enough))
    # An epoch of a step or two: the batch, not the epochs asked for, kept the steps few
    # (and more steps per epoch cost no more epochs). Moons at full batch, 30 epochs of SGD:
    # 0.87 val accuracy; 200 epochs 0.90; batch 64, 30 epochs 0.92 (3 seeds each).
    weight = BATCH_BOUND if steps_per_epoch(ev) <= FEW_PER_EPOCH else 0.6
    return Suspect(
        "train.batch_size",
        f"only {steps} optimizer steps in {epochs} epochs (batch {batch})",
        weight,
        [Prescription(f"more steps per epoch (batch {smaller})", {"train.batch_size": smaller})],
    )


def rate_for_tiny_steps(lr: float, optimizer: str) -> float:
    """The rate that steps measured tiny call for: ten times at least, up to a third of the
    optimizer's safe rate (``tiny_steps`` and ``lr_too_low`` prescribe it)."""
    return nice(max(lr * 10, min(SAFE_LR.get(optimizer, 0.01) / 3, lr * 1000)))


def tiny_steps(ev: Evidence) -> Suspect | None:
    """Steps that move the weights by less than 0.01 % of their size: the learning rate is
    far too low, whatever the curve's length or shape."""
    progress = late_progress(ev)
    if progress is None or not progress.slow or progress.update is None:
        return None
    lr = float(ev.cfg("train.optimizer.lr", 0.0))
    higher = rate_for_tiny_steps(lr, str(ev.cfg("train.optimizer.name", "adam")))
    return Suspect(
        "train.optimizer.lr",
        f"each step moved the weights by {progress.update:.1e} of their size (healthy is "
        f"about 1e-3) at lr {lr:g}",
        0.9,
        [Prescription(f"a larger learning rate ({higher:g})", {"train.optimizer.lr": higher})],
    )


def too_short(ev: Evidence) -> bool:
    """A completed run of fewer epochs than a trend can be read from: its length is a
    suspect whatever its last epoch showed."""
    epochs = len(ev.series("train_loss"))
    stopped = (ev.extra.get("early_stopping") or {}).get("stopped_epoch")
    return ev.status == "completed" and 0 < epochs < SHORT and not stopped
