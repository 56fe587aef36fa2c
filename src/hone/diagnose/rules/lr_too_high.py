"""``lr_too_high``: divergence (NaN/inf or a loss that exploded by orders of magnitude), a
training loss that bounces up and down instead of settling, or a loss stuck at the level of a
model that learned nothing after the first steps of a far too large learning rate."""

from __future__ import annotations

import statistics
from itertools import pairwise

from hone.diagnose.achievable import achievable, score_of
from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.settings import nothing_to_gain, tiny_batch_norm
from hone.diagnose.signals import (
    DEAD_SHARE,
    SAFE_LR,
    chance_accuracy,
    chance_loss,
    dropout_inflated,
    dropout_lifted,
    fraction_rising,
    last_epoch_activation,
    loss_at_start,
    nice,
    sampled_epochs,
    unscaled_inputs,
    untrained_loss,
    weight_norms,
)
from hone.diagnose.step_size import raised_by_schedule, smaller_step, step_causes

OSCILLATING = 0.25  # a quarter of epochs raise the training loss by more than 5 %
BOUNCING = 0.2  # or a fifth do, and the late curve sits well above the lowest point reached
LATE_ABOVE_MIN = 1.5
# A learning rate this many times the optimizer's safe one, in a run that falls short of
# what is achievable while its loss rose in at least THROWN epochs (or started far above
# chance), is too high whatever the share of epochs that rose (a steep start hides later
# bounces in that share).
FAR_ABOVE, THROWN = 30, 2
THROWN_START = 3  # ... or its first epoch's loss averaged 3x the loss of predicting frequencies
KILLED = DEAD_SHARE  # ... or its steps left this share of a layer's ReLU units dead
SHRUNK = 0.5  # weights at the end below half their norm at the start: a penalty is winning
PENALTIES = ("train.l1", "train.l2", "train.optimizer.weight_decay")
RISE = 1.05  # an epoch that raised the training loss by more than 5 %
EXPLODED = 20  # a training loss this many times an untrained network's has exploded ...
ABOVE_START = 2  # ... where it also rose past twice the loss its first step began at
USUAL_BATCH = 32  # the batch the optimizers' safe rates (``SAFE_LR``) are for


def lower_lr(ev: Evidence) -> float:
    """A learning rate 10x lower, and no higher than what is safe for the optimizer."""
    lr = float(ev.cfg("train.optimizer.lr", 0.01))
    ceiling = SAFE_LR.get(str(ev.cfg("train.optimizer.name", "adam")), 0.01)
    return nice(min(lr / 10, ceiling))


class LrTooHigh(Rule):
    code = "lr_too_high"

    def check(self, ev: Evidence) -> Finding | None:
        train = ev.series("train_loss")
        lr = float(ev.cfg("train.optimizer.lr", 0.0))
        peak = raised_by_schedule(ev)  # the step a schedule raised the rate to, if it did
        rate = peak or lr
        name = str(ev.cfg("train.optimizer.name", "adam"))
        diverged = ev.status == "diverged"
        body = train[1:] if len(train) > 3 else train
        rising = fraction_rising(train)
        late = statistics.fmean(body[-max(1, len(body) // 3) :]) if body else 0.0
        floor = min(body) if body else 0.0
        bouncing = (
            len(body) >= 4 and rising >= BOUNCING and late > LATE_ABOVE_MIN * max(floor, 1e-8)
        )
        oscillating = len(train) >= 4 and (rising >= OSCILLATING or _never_settles(ev, body))
        # Each epoch's loss a few batches' (its rises are sampling), or batch statistics of a
        # few rows (the normalisation itself shakes the loss): not steps that overshoot.
        if sampled_epochs(ev) or tiny_batch_norm(ev) is not None:
            bouncing = oscillating = False
        chance = chance_loss(ev)
        start, predicting = untrained_loss(ev) or (None, "")
        ceiling = EXPLODED * max(start or 0.0, 0.1)
        exploded = start is not None and bool(train) and max(train) > ceiling
        # ... and above where this network started: an initialisation that blows up the
        # logits starts far above a model that learned nothing (``bad_init``'s doing).
        began = loss_at_start(ev)
        if exploded and began is not None and max(train) <= ABOVE_START * began:
            exploded = False
        if exploded and dropout_lifted(ev, ceiling, start or 0.0):
            exploded = False  # only the training-mode loss soared: dropout, not the steps
        stuck = _knocked_out(ev, train, rate, name, chance)
        thrown = None
        if not (diverged or oscillating or bouncing or exploded or stuck):
            thrown = _far_too_high(ev, train, rate, name, (start, predicting))
            if thrown is None:
                return None
        if not (diverged or exploded or stuck) and _penalty_wins(ev):
            return None  # the loss climbs because the weights are pulled to zero
        if not (diverged or stuck) and dropout_inflated(ev):
            return None  # dropout, not the steps, lifts and shakes the training loss
        if diverged:
            why = f"training diverged: {ev.message}"
        elif exploded:
            why = (
                f"the training loss reached {max(train):.3g}, far above the {start:.3g} of "
                f"{predicting}"
            )
        elif stuck or thrown:
            why = stuck or thrown or ""
        else:
            why = f"the training loss rose by more than 5 % in {rising:.0%} of epochs"
        evidence = {
            "lr": lr,
            **({"peak_lr": peak} if peak else {}),
            "diverged": diverged,
            "diverged_at": ev.extra.get("diverged_at"),
            "share_of_epochs_rising": rising,
            "first_train_loss": train[0] if train else None,
            "lowest_train_loss": floor if body else None,
            "final_train_loss": train[-1] if train else None,
        }
        severe = diverged or exploded or bool(stuck)
        # A bouncing loss in a run that still reaches what is achievable costs it nothing
        # measurable: worth saying, not an alarm.
        harmless = not severe and nothing_to_gain(ev)
        target = achievable(ev)
        if harmless and target is not None:
            why += f", yet validation reaches what is achievable here, {target.describe()}"
        return Finding(
            self.code,
            "critical" if severe else "info" if harmless else "warning",
            "The learning rate is too high",
            f"With lr {lr:g}"
            + (f" (raised to {peak:.3g} by the schedule)" if peak else "")
            + f", {why}. Each step overshoots the minimum it aims at.",
            evidence,
            _prescriptions(ev),
            harmful={"lr": 1},
            causes=(["data.preprocess.scale"] if unscaled_inputs(ev) else []) + step_causes(ev),
        )


def _knocked_out(
    ev: Evidence, train: list[float], lr: float, name: str, chance: float | None
) -> str | None:
    """Why a run at chance is the learning rate's doing (else ``None``): its loss and
    accuracy stay at the level of predicting class frequencies, with a rate far above the
    optimizer's usual range for its batch (``_batch_noise``)."""
    acc = ev.metrics.get("train_accuracy")
    noise = _batch_noise(ev)
    if chance is None or len(train) < 3 or lr * noise < 10 * SAFE_LR.get(name, 0.01):
        return None
    if not isinstance(acc, int | float) or acc > chance_accuracy(ev) + 0.05:
        return None
    if train[-1] < 0.95 * chance:
        return None
    batch = f" at batch {ev.cfg('train.batch_size')}" if noise > 1 else ""
    return (
        f"the training loss stays at {train[-1]:.3g}, the level of predicting class "
        f"frequencies ({chance:.3g}): the first large steps knocked the network out, "
        f"and {lr:g}{batch} is far above {name}'s usual range"
    )


def _batch_noise(ev: Evidence) -> float:
    """How much noisier than a batch of ``USUAL_BATCH`` rows each step is: the safe rates
    are for batches of about that size, and a step on fewer rows follows fewer rows'
    gradients (its noise grows as 1/sqrt(batch)). SGD 0.5 at batch 1 leaves a spiral net at
    chance, where at batch 32 it trains to 1.0 and 0.05 at batch 1 to 0.97. Never below 1:
    a large batch does not make a rate far above the usual one safe."""
    batch = ev.cfg("train.batch_size")
    if not isinstance(batch, int) or batch <= 0:
        return 1.0
    return max(1.0, float((USUAL_BATCH / batch) ** 0.5))


def _far_too_high(
    ev: Evidence,
    train: list[float],
    lr: float,
    name: str,
    untrained: tuple[float | None, str],
) -> str | None:
    """Why a rate ``FAR_ABOVE`` the optimizer's safe one is too high (else ``None``): the
    run falls short of what is achievable, and the loss rose in ``THROWN`` epochs or more,
    or the first epoch's loss averaged ``THROWN_START`` times ``untrained`` (the loss of a
    model that learned nothing, and what it predicts: ``signals.untrained_loss``), where a
    sound initialisation starts (the first steps threw the weights), or
    the steps left ``KILLED`` of a layer's units dead (large steps push biases negative)."""
    safe = SAFE_LR.get(name, 0.01)
    rises = sum(1 for a, b in pairwise(train) if b > RISE * a)
    start, predicting = untrained  # ``untrained_loss``, or (None, "") without one
    thrown = start is not None and bool(train) and train[0] > THROWN_START * start
    killed = _killed_units(ev)
    target = achievable(ev)
    if lr < FAR_ABOVE * safe or (rises < THROWN and not thrown and not killed):
        return None
    if target is None or not target.clearly_below(score_of(ev, "val" if ev.has_val else "train")):
        return None
    if rises >= THROWN:
        what = f"the training loss rose by more than 5 % in {rises} of {len(train) - 1} epochs"
    elif thrown:
        what = (
            f"the first epoch's training loss averaged {train[0]:.3g}, "
            f"{train[0] / (start or 1):.0f}x the {start:.3g} of {predicting},"
        )
    else:
        layer, share = killed or ("", 0.0)
        what = f"its steps left {share:.0%} of the units of {layer} dead (biases started at zero)"
    return (
        f"{what} and the run falls short of what is achievable; that is {lr / safe:.0f}x "
        f"the rate that is safe for {name} ({safe:g})"
    )


def _killed_units(ev: Evidence) -> tuple[str, float] | None:
    """The layer with the most dead ReLU units, where ``KILLED`` or more of them are and the
    biases started at zero: nothing at initialisation killed them, so the steps did."""
    if str(ev.cfg("model.bias_init", "zeros")) not in ("zeros", "auto"):
        return None
    dead = last_epoch_activation(ev.telemetry or {}, "dead")
    worst = max(dead.items(), key=lambda kv: kv[1], default=None)
    return worst if worst is not None and worst[1] >= KILLED else None


def _never_settles(ev: Evidence, body: list[float]) -> bool:
    """In the second half of training a quarter of the epochs raise the loss by more than 5 %
    of itself and of the loss of predicting class frequencies: it never settles. (Against
    the whole curve's range, which a steep early descent dominates, such a bounce looks
    small.)"""
    chance = chance_loss(ev)
    late = body[len(body) // 2 :]
    if chance is None or len(late) < 4:
        return False
    rises = sum(1 for a, b in pairwise(late) if b - a > 0.05 * max(abs(a), chance))
    return rises / (len(late) - 1) >= OSCILLATING


def _penalty_wins(ev: Evidence) -> bool:
    """A weight penalty is set and either the weights shrank to under ``SHRUNK`` of their
    norm or the objective the optimizer minimises (data loss plus the recorded L1/L2
    penalty) fell in every epoch whose data loss rose: a training loss that rises then is
    the penalty outweighing the data (underfitting names it), not steps overshooting, which
    grow the weights or leave them be and raise the objective too."""
    if not any(float(ev.cfg(key) or 0.0) > 0 for key in PENALTIES):
        return False
    norms = weight_norms(ev.telemetry)
    if len(norms) >= 2 and norms[-1] < SHRUNK * norms[0]:
        return True
    train, penalty = ev.series("train_loss"), ev.series("train_penalty")
    if len(train) < 2 or len(penalty) != len(train):
        return False
    total = [a + b for a, b in zip(train, penalty, strict=True)]
    rose = [i for i in range(1, len(train)) if train[i] > RISE * train[i - 1]]
    return bool(rose) and all(total[i] < total[i - 1] for i in rose)


def _prescriptions(ev: Evidence) -> list[Prescription]:
    target = lower_lr(ev)
    out = [
        *smaller_step(ev, target, f"a smaller learning rate ({target:g})"),
        Prescription(
            "clip the gradient norm so one bad batch cannot throw the weights",
            {"train.grad_clip": {"norm": 1.0}},
        ),
        Prescription(
            "warm up, then anneal the learning rate",
            {
                "train.optimizer.lr": target,
                "train.schedule": {"name": "cosine", "warmup_epochs": 3},
            },
        ),
        Prescription("measure a good learning rate with an LR range test (hone lr-find)"),
    ]
    if unscaled_inputs(ev):
        out.insert(
            0,
            Prescription(
                "standardise the inputs: raw features far from unit scale make every step too "
                "large",
                {"data.preprocess.scale": "standard"},
            ),
        )
    return out
