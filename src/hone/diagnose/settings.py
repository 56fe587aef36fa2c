"""Settings as causes: which of a run's settings can explain a finding, read from its config and
its recorded history, and the patch that moves each one the right way.

A curve's shape says *that* a model underfits or stopped too early; the settings say *why*:
regularisation strong enough to stop it fitting (dropout, L2, L1, weight decay, label
smoothing), a learning-rate schedule that drove the rate down by orders of magnitude long
before training ended, early stopping that stopped a loss that was still falling, too few
epochs or optimizer steps, a loss that does not fit the task, and last, too little capacity.
Each suspect names its config key (a finding's ``causes``) and how strongly the evidence
points at it; the rules put the strongest first, so the top prescription moves the setting
that caused the problem — never more regularisation for a run that underfits because of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from hone.config.names import higher_is_better
from hone.diagnose.achievable import achievable, score_of
from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Prescription
from hone.diagnose.progress import SHORT, late_progress
from hone.diagnose.signals import SAFE_LR, finite, longer, nice, relative_drop

__all__ = [
    "Suspect",
    "bottleneck",
    "capacity",
    "early_stopping",
    "loss_mismatch",
    "nothing_to_gain",
    "regularisation",
    "saturating",
    "schedule",
    "short_training",
    "slowed_by_setting",
    "suspects_for_underfitting",
    "tiny_steps",
]

STRONG_DROPOUT = 0.5  # dropping half the units or more each step
PENALTY_SHARE = 0.2  # an L1/L2 penalty of 20 % of the data loss at the end dominates fitting
STRONG_L2 = 0.05  # ... or a coefficient this large (hone's l2 adds l2/2 * sum W^2)
STRONG_DECAY = {"adamw": 0.3}  # decoupled decay; coupled (torch's) weight_decay is an L2
STRONG_COUPLED_DECAY = 0.01
STRONG_SMOOTHING = 0.3
COLLAPSE = 1e-2  # a schedule that leaves less than 1 % of the starting learning rate ...
EARLY = 0.8  # ... before the last fifth of training
STILL_FALLING = 0.03  # early stopping stopped a loss that fell >= 3 % over its last epochs
STEEP = 0.05  # ... or while training loss still fell >= 5 %
WORSENING = 0.75  # ... unless the watched value got worse in this share of epochs since its best
FEW_STEPS = 200  # fewer optimizer steps than this in the whole run
NARROW = 4  # a hidden layer with fewer units than this (or than the outputs) is a bottleneck
STRONG = 0.9  # a suspect this strong makes the epochs an unlikely cause


@dataclass
class Suspect:
    """A setting that can explain a finding: its config key, the evidence in words, how
    strongly it points there (0..1), and remedies that move it the right way."""

    key: str
    why: str
    weight: float
    remedies: list[Prescription] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def regularisation(ev: Evidence) -> list[Suspect]:
    """Regularisation strong enough to stop a model fitting its own training data."""
    out = []
    dropout = float(ev.cfg("model.dropout") or 0.0)
    if dropout >= STRONG_DROPOUT:
        out.append(
            Suspect(
                "model.dropout",
                f"dropout {dropout:g} silences {dropout:.0%} of the hidden units at every step",
                min(1.0, 0.5 + dropout / 2),
                [Prescription(f"less dropout ({dropout:g} -> 0.1)", {"model.dropout": 0.1})],
            )
        )
    share = _penalty_share(ev)
    for key, typical in (("train.l2", 1e-4), ("train.l1", 1e-5)):
        value = float(ev.cfg(key) or 0.0)
        strong = value >= STRONG_L2 or (share is not None and share >= PENALTY_SHARE)
        if value > typical and strong:
            said = f" and is {share:.0%} of the data loss at the end" if share is not None else ""
            out.append(
                Suspect(
                    key,
                    f"{key} = {value:g} penalises the weights{said}",
                    0.9 if value >= STRONG_L2 else 0.7,
                    [
                        Prescription(
                            f"a weaker penalty ({key} {value:g} -> {typical:g})", {key: typical}
                        )
                    ],
                    {"penalty_share": share},
                )
            )
    out.extend(_weight_decay(ev))
    smoothing = float(ev.cfg("train.label_smoothing") or 0.0)
    if smoothing >= STRONG_SMOOTHING and ev.task == "classification":
        out.append(
            Suspect(
                "train.label_smoothing",
                f"label smoothing {smoothing:g} asks for targets far from one-hot",
                0.4,
                [Prescription("less label smoothing", {"train.label_smoothing": 0.1})],
            )
        )
    return out


def _weight_decay(ev: Evidence) -> list[Suspect]:
    optimizer = ev.cfg("train.optimizer") or {}
    decay = finite([optimizer.get("weight_decay") if isinstance(optimizer, dict) else None])
    if not decay or decay[0] <= 0:
        return []
    name = str(optimizer.get("name", "adam"))
    strong = STRONG_DECAY.get(name, STRONG_COUPLED_DECAY)
    if decay[0] < strong:
        return []
    typical = 0.01 if name in STRONG_DECAY else 1e-4
    return [
        Suspect(
            "train.optimizer.weight_decay",
            f"weight decay {decay[0]:g} ({name}) shrinks every weight at every step",
            0.9,
            [
                Prescription(
                    f"less weight decay ({decay[0]:g} -> {typical:g})",
                    {"train.optimizer.weight_decay": typical},
                )
            ],
        )
    ]


def _penalty_share(ev: Evidence) -> float | None:
    """The L1/L2 penalty's share of the data loss at the end of training."""
    penalty, loss = ev.series("train_penalty"), ev.series("train_loss")
    if not penalty or not loss or loss[-1] <= 0:
        return None
    return penalty[-1] / loss[-1]


def schedule(ev: Evidence) -> Suspect | None:
    """A schedule that cut the learning rate by two orders of magnitude or more before the
    last fifth of training: the run spent the rest of it barely moving."""
    lr = ev.series("lr")
    if len(lr) < 3 or lr[0] <= 0:
        return None
    collapsed = next((i for i, v in enumerate(lr) if v <= COLLAPSE * lr[0]), None)
    if collapsed is None or collapsed >= EARLY * len(lr):
        return None
    name = str(ev.cfg("train.schedule.name", "constant"))
    return Suspect(
        "train.schedule",
        f"the {name} schedule took the learning rate from "
        f"{lr[0]:.3g} to {lr[collapsed]:.3g} by epoch {collapsed + 1} of {len(lr)}, "
        f"and to {lr[-1]:.3g} at the end",
        0.95,
        [
            Prescription(
                "a schedule that decays the rate over the whole run (cosine)",
                {"train.schedule": {"name": "cosine"}},
            ),
            Prescription("a constant learning rate", {"train.schedule": {"name": "constant"}}),
        ],
        {"lr_start": lr[0], "lr_end": lr[-1], "collapsed_at_epoch": collapsed + 1},
    )


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
    data as well as the data allows: it was stopped mid-climb. (A model that fits and whose
    validation loss stalled was stopped where it should be, however fast its training loss
    still falls: that is memorisation.)"""
    train = ev.series("train_loss")
    if len(train) < 2 or relative_drop(train[-3:]) < STEEP:
        return False
    target = achievable(ev)
    if target is None:
        return False
    val = score_of(ev, "val" if ev.has_val else "train")
    # ... and the stop cost something: validation, too, falls short of what is achievable.
    return min(target.below(score_of(ev, "train")), target.below(val)) > target.margin / 2


def short_training(ev: Evidence) -> list[Suspect]:
    """Too few epochs for a loss that was still falling — and, when the whole run took few
    optimizer steps, too large a batch to take more."""
    epochs = len(ev.series("train_loss"))
    if not epochs or (ev.extra.get("early_stopping") or {}).get("stopped_epoch"):
        return []
    found = [
        Suspect(
            "train.epochs",
            f"training ended after {epochs} epochs while the loss was still falling",
            0.8,
            [Prescription("train longer", {"train.epochs": longer(ev, epochs)})],
        )
    ]
    steps = epochs * _steps_per_epoch(ev)
    batch = ev.cfg("train.batch_size")
    capped = ev.cfg("train.steps_per_epoch")
    if steps and steps < FEW_STEPS and capped and capped * epochs == steps:
        found.append(
            Suspect(
                "train.steps_per_epoch",
                f"only {steps} optimizer steps in {epochs} epochs (capped at {capped} each)",
                0.6,
                [Prescription("every batch of each epoch", {"train.steps_per_epoch": None})],
            )
        )
    elif steps and steps < FEW_STEPS and isinstance(batch, int) and batch > 8:
        smaller = max(8, batch // 4)
        found.append(
            Suspect(
                "train.batch_size",
                f"only {steps} optimizer steps in {epochs} epochs (batch {batch})",
                0.6,
                [Prescription(f"more steps per epoch (batch {smaller})",
                              {"train.batch_size": smaller})],
            )
        )  # fmt: skip
    return found


def tiny_steps(ev: Evidence) -> Suspect | None:
    """Steps that move the weights by less than 0.01 % of their size: the learning rate is
    far too low, whatever the curve's length or shape."""
    progress = late_progress(ev)
    if progress is None or not progress.slow or progress.update is None:
        return None
    lr = float(ev.cfg("train.optimizer.lr", 0.0))
    name = str(ev.cfg("train.optimizer.name", "adam"))
    higher = nice(max(lr * 10, min(SAFE_LR.get(name, 0.01) / 3, lr * 1000)))
    return Suspect(
        "train.optimizer.lr",
        f"each step moved the weights by {progress.update:.1e} of their size (healthy is "
        f"about 1e-3) at lr {lr:g}",
        0.9,
        [Prescription(f"a larger learning rate ({higher:g})", {"train.optimizer.lr": higher})],
    )


def _too_short(ev: Evidence) -> bool:
    """A completed run of fewer epochs than a trend can be read from: its length is a
    suspect whatever its last epoch showed."""
    epochs = len(ev.series("train_loss"))
    stopped = (ev.extra.get("early_stopping") or {}).get("stopped_epoch")
    return ev.status == "completed" and 0 < epochs < SHORT and not stopped


def _steps_per_epoch(ev: Evidence) -> int:
    n = finite([((ev.data.get("stats") or {}).get("train") or {}).get("n")])
    batch = ev.cfg("train.batch_size")
    if not n:
        return 0
    if not isinstance(batch, int) or batch <= 0:
        return 1  # "full": one step an epoch
    steps = max(1, math.ceil(n[0] / batch))
    capped = ev.cfg("train.steps_per_epoch")
    return min(steps, capped) if isinstance(capped, int) and capped > 0 else steps


def loss_mismatch(ev: Evidence) -> Suspect | None:
    """Classification trained with MSE: its gradients vanish exactly where a wrong
    confident prediction needs them most."""
    if ev.task != "classification" or ev.cfg("train.loss") != "mse":
        return None
    return Suspect(
        "train.loss",
        "classification trained with MSE on one-hot targets",
        0.6,
        [
            Prescription(
                "cross-entropy, the loss made for classification",
                {"train.loss": "cross_entropy", "model.output_activation": "auto"},
            )
        ],
    )


def bottleneck(ev: Evidence) -> Suspect | None:
    """A hidden layer narrower than what it must carry (fewer units than the outputs, or
    than ``NARROW``): too little capacity by construction, whatever else the run does."""
    hidden = [int(h) for h in ev.cfg("model.hidden") or [] if isinstance(h, int)]
    outputs = len(ev.data.get("classes") or []) or 1
    if not hidden or min(hidden) >= max(NARROW, outputs):
        return None
    wider = [max(64, 4 * h) for h in hidden]
    return Suspect(
        "model.hidden",
        f"a hidden layer of {min(hidden)} unit{'s' * (min(hidden) != 1)} must carry "
        f"{outputs} output{'s' * (outputs != 1)}",
        0.92,
        [Prescription("wider hidden layers (a bottleneck this narrow cannot fit the data)",
                      {"model.hidden": wider})],
    )  # fmt: skip


def saturating(ev: Evidence) -> Suspect | None:
    """Sigmoid or tanh units: their gradients shrink wherever they saturate, so training
    crawls across long plateaus (the textbook's first swap: LeakyReLU)."""
    name = ev.cfg("model.activation")
    if name not in ("sigmoid", "tanh"):
        return None
    return Suspect(
        "model.activation",
        f"{name} units learn slowly wherever they saturate, and stall on plateaus",
        0.5,
        [Prescription("LeakyReLU does not saturate, so training does not stall",
                      {"model.activation": "leaky_relu", "model.init": "auto"})],
    )  # fmt: skip


def capacity(ev: Evidence) -> Suspect:
    """Too little capacity: what is left when no setting explains the shortfall."""
    hidden = list(ev.cfg("model.hidden") or [16])
    if len(hidden) >= 3:
        wider = [max(64, 2 * h) for h in hidden]
        remedy = Prescription("wider layers (more capacity per layer)", {"model.hidden": wider})
    else:
        wider = [max(64, 4 * h) for h in hidden]
        remedy = Prescription(
            "a wider and deeper model (more capacity)", {"model.hidden": [*wider, wider[-1]]}
        )
    return Suspect("model.hidden", f"hidden layers {hidden}", 0.3, [remedy])


def nothing_to_gain(ev: Evidence) -> bool:
    """The run already scores what is achievable on its data: a loss still inching down
    there (towards zero, on a model that fits) is not a problem worth a finding."""
    target = achievable(ev)
    return target is not None and not target.clearly_below(
        score_of(ev, "val" if ev.has_val else "train")
    )


def slowed_by_setting(ev: Evidence) -> Suspect | None:
    """A setting that explains slow progress better than the learning rate or the epochs:
    strong regularisation (it shrinks every step), a schedule that killed the learning rate,
    a loss that does not fit the task, a bottleneck layer."""
    found = [*regularisation(ev), schedule(ev), loss_mismatch(ev), bottleneck(ev)]
    return max((s for s in found if s is not None), key=lambda s: s.weight, default=None)


def suspects_for_underfitting(ev: Evidence) -> list[Suspect]:
    """Every setting that can explain a model that does not fit its training data, the
    strongest first; capacity only when nothing else does."""
    found = [*regularisation(ev)]
    for check in (schedule, early_stopping, loss_mismatch, bottleneck, saturating):
        suspect = check(ev)
        if suspect is not None:
            found.append(suspect)
    lr = tiny_steps(ev)
    if lr is not None:
        found.append(lr)
    elif all(s.weight < STRONG for s in found) and (late_progress(ev) or _too_short(ev)):
        found.extend(short_training(ev))  # still falling, or too short to tell
    found.sort(key=lambda s: -s.weight)
    return found or [capacity(ev)]
