"""Settings as causes: which of a run's settings can explain a finding, read from its config and
its recorded history, and the patch that moves each one the right way.

A curve's shape says *that* a model underfits or stopped too early; the settings say *why*:
regularisation strong enough to stop it fitting (dropout, L2, L1, weight decay, label
smoothing), a learning-rate schedule that drove the rate down by orders of magnitude long
before training ended, early stopping that stopped a loss that was still falling, too few
epochs or optimizer steps (those four in ``training_length``), a loss that does not fit the
task, and last, too little capacity.
Each suspect names its config key (a finding's ``causes``) and how strongly the evidence
points at it; the rules put the strongest first, so the top prescription moves the setting
that caused the problem — never more regularisation for a run that underfits because of it.
"""

from __future__ import annotations

import math
import statistics

from hone.diagnose.achievable import achievable, score_of
from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Prescription
from hone.diagnose.objective import (
    bounded_output,
    loss_mismatch,
    skewed_class_weight,
    small_huber_delta,
)
from hone.diagnose.progress import late_progress
from hone.diagnose.signals import STRONG_DROPOUT, finite, global_grad_norms, train_stats
from hone.diagnose.step_size import damping_eps
from hone.diagnose.structure import NARROW, bottleneck, capacity, frozen, linear_units
from hone.diagnose.suspect import Suspect
from hone.diagnose.training_length import (
    early_stopping,
    few_steps,
    short_training,
    tiny_steps,
    too_short,
)

__all__ = [
    "NARROW",
    "REGULARISERS",
    "clipping",
    "no_cost_seen",
    "nothing_to_gain",
    "regularisation",
    "saturating",
    "schedule",
    "slowed_by_setting",
    "suspects_for_underfitting",
    "tiny_batch_norm",
]

# The keys of the regularisation ``regularisation`` can suspect, but label smoothing: it
# does not silence units or shrink steps (``prescribe`` reads which findings follow from them).
REGULARISERS = ("model.dropout", "train.l2", "train.l1", "train.optimizer.weight_decay",
                "train.augment")  # fmt: skip
FEW_KEPT = 6  # ... strongly where the narrowest layer keeps fewer units than this a step
PENALTY_SHARE = 0.2  # an L1/L2 penalty of 20 % of the data loss at the end dominates fitting
STRONG_L2 = 0.05  # ... or a coefficient this large (hone's l2 adds l2/2 * sum W^2)
STRONG_DECAY = {"adamw": 0.3}  # decoupled decay; coupled (torch's) weight_decay is an L2
STRONG_COUPLED_DECAY = 0.01
STRONG_SMOOTHING = 0.3
COLLAPSE = 1e-2  # a schedule that leaves less than 1 % of the starting learning rate ...
EARLY = 0.8  # ... before the last fifth of training
STRONG = 0.9  # a suspect this strong makes the epochs an unlikely cause
PLAIN_SGD = ("sgd", "momentum", "nesterov")  # the optimizers a clipped gradient slows
BINDING = 0.99  # a recorded gradient norm this close to the clip norm was clipped ...
BOUND_SHARE = 0.8  # ... and a clip binding on this share of the samples sets every step
BINDING_RMS = 0.5  # a value clip: the weights' gradient RMS at half the value or more
MIN_SAMPLES = 5
BN_BATCH = 8  # batch normalisation over fewer rows than this normalises by noise
AUG_SHARE = 0.5  # augmentation noise (or brightness) this share of the inputs' spread is strong
AUG_ROTATE, AUG_SHIFT, AUG_ZOOM = 90.0, 0.25, 0.5  # ... as are turns, shifts and zooms this big


def regularisation(ev: Evidence) -> list[Suspect]:
    """Regularisation strong enough to stop a model fitting its own training data."""
    out = []
    dropout = float(ev.cfg("model.dropout") or 0.0)
    if dropout >= STRONG_DROPOUT:
        out.append(_dropout(ev, dropout))
    share = _penalty_share(ev)
    for key, typical in (("train.l2", 1e-4), ("train.l1", 1e-5)):
        value = float(ev.cfg(key) or 0.0)
        strong = value >= STRONG_L2 or (share is not None and share >= PENALTY_SHARE)
        if value > typical and strong:
            said = "" if share is None else f" and is {_share(share)} the data loss at the end"
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
    augmented = _augmentation(ev)
    if augmented is not None:
        out.append(augmented)
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


def _dropout(ev: Evidence, dropout: float) -> Suspect:
    """Dropout weighs by its rate, and as strongly as a bottleneck where the narrowest hidden
    layer keeps fewer than ``FEW_KEPT`` units in an average step."""
    why = f"dropout {dropout:g} silences {dropout:.0%} of the hidden units at every step"
    weight = min(1.0, 0.5 + dropout / 2)
    hidden = [int(h) for h in ev.cfg("model.hidden") or [] if isinstance(h, int)]
    kept = min(hidden) * (1 - dropout) if hidden else None
    if kept is not None and kept < FEW_KEPT:
        why += f": a layer of {min(hidden)} keeps about {kept:.0f}"
        weight = max(weight, STRONG)
    remedy = Prescription(f"less dropout ({dropout:g} -> 0.1)", {"model.dropout": 0.1})
    return Suspect("model.dropout", why, weight, [remedy])


def _augmentation(ev: Evidence) -> Suspect | None:
    """Augmentation strong enough to hide what it should vary: noise or a brightness shift
    half the inputs' spread or more, rotations of 90 degrees or more (a 6 turned into a 9),
    shifts of a quarter of the image, zooms of half. (Moons with noise 2.0 on standardised
    features: train 0.85 where 0.94 is achievable; digits rotated by up to 180 and flipped:
    0.60; digits with noise 3.0 at chance. Each was read as too little capacity.)"""
    aug = ev.cfg("train.augment")
    if not isinstance(aug, dict):
        return None
    spread = statistics.median(finite(train_stats(ev).get("std") or []) or [1.0]) or 1.0
    strong = [
        f"{key} {aug[key]:g}"
        for key, bound in (("noise", AUG_SHARE * spread), ("brightness", AUG_SHARE * spread),
                           ("rotate", AUG_ROTATE), ("translate", AUG_SHIFT), ("scale", AUG_ZOOM))
        if isinstance(aug.get(key), int | float) and aug[key] >= bound
    ]  # fmt: skip
    if not strong:
        return None
    return Suspect(
        "train.augment",
        f"augmentation ({', '.join(strong)}) strong enough to hide what it should vary",
        0.9,
        [Prescription("no augmentation until the model fits", {"train.augment": None})],
        {"strong": strong, "input_spread": spread},
    )


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


def _share(share: float) -> str:
    """A penalty's size against the data loss: "35 % of", or "176x" where it is many times it."""
    return f"{share:.0%} of" if share < 10 else f"{share:.0f}x"


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


def clipping(ev: Evidence) -> Suspect | None:
    """Gradient clipping below a norm (or an element value) of 1 that bound on nearly every
    sampled step of plain SGD: every step is cut to the clip times the learning rate,
    however steep the loss (the recorded norms are after clipping, so a binding clip shows
    as norms at its value). Adaptive optimizers divide a uniformly scaled gradient back
    out: the clip costs them little."""
    name = str(ev.cfg("train.optimizer.name", "adam"))
    if name not in PLAIN_SGD:
        return None
    norm, value = ev.cfg("train.grad_clip.norm"), ev.cfg("train.grad_clip.value")
    if isinstance(norm, int | float) and 0 < norm < 1:
        clip, kind, bound = norm, "norm", _norm_bound(ev, norm)
    elif isinstance(value, int | float) and 0 < value < 1:
        clip, kind, bound = value, "value", _value_bound(ev, value)
    else:
        return None
    if bound is None or bound < BOUND_SHARE:
        return None
    return Suspect(
        "train.grad_clip",
        f"gradient clipping at {kind} {clip:g} bound on {bound:.0%} of the sampled steps: "
        f"every {name} step was at most lr x {clip:g} long"
        + (" in every weight" if kind == "value" else ""),
        0.95,
        [
            Prescription(
                "clip only exploding gradients (norm 1)",  # a value clip gives way to it
                {"train.grad_clip": {"norm": 1.0} | ({"value": None} if kind == "value" else {})},
            )
        ],
        {f"grad_clip_{kind}": clip, "share_of_steps_clipped": bound},
    )


def _norm_bound(ev: Evidence, clip: float) -> float | None:
    """The share of sampled steps whose global gradient norm sat at the clip norm."""
    norms = global_grad_norms(ev.telemetry)
    if len(norms) < MIN_SAMPLES:
        return None
    return sum(n >= BINDING * clip for n in norms) / len(norms)


def _value_bound(ev: Evidence, clip: float) -> float | None:
    """The share of sampled steps whose weights' gradient RMS reached half the clip value:
    every element is at most the value after clipping, so an RMS near it means most were
    cut (SGD at 0.1 clipped at 1e-4 on blobs: the RMS sat at the value on every step)."""
    rms = []
    for sample in (ev.telemetry or {}).get("samples") or []:
        layers = [s for s in (sample.get("layers") or {}).values() if isinstance(s, dict)]
        pairs = [(s.get("grad_norm"), s.get("numel")) for s in layers]
        norms = finite(n for n, _ in pairs)
        sizes = finite(k for _, k in pairs)
        if not layers or len(norms) != len(layers) or len(sizes) != len(layers):
            continue  # a layer without its numbers: the sample says nothing
        if sum(sizes) > 0:
            rms.append(math.sqrt(sum(n * n for n in norms) / sum(sizes)))
    if len(rms) < MIN_SAMPLES:
        return None
    return sum(r >= BINDING_RMS * clip for r in rms) / len(rms)


def tiny_batch_norm(ev: Evidence) -> Suspect | None:
    """Batch normalisation over batches of a few rows: each step normalises by a mean and a
    variance estimated from those rows, noise that grows as the batch shrinks (two rows
    normalise to -1 and +1 whatever their values), and the running statistics the
    evaluation uses drift from what training saw. (Moons, [32, 32] with batch norm at
    batch 2: val 0.825 where the same net at batch 32 reaches 0.94.)"""
    batch = ev.cfg("train.batch_size")
    if ev.cfg("model.norm") != "batch" or not isinstance(batch, int) or batch >= BN_BATCH:
        return None
    return Suspect(
        "model.norm",
        f"batch normalisation over batches of {batch}: their statistics are noise",
        0.95,
        [Prescription("layer normalisation, which needs no batch statistics",
                      {"model.norm": "layer"}),
         Prescription("batches large enough for batch statistics (32)",
                      {"train.batch_size": 32})],
        {"batch_size": batch},
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


def nothing_to_gain(ev: Evidence) -> bool:
    """The run already scores what is achievable on its data: a loss still inching down
    there (towards zero, on a model that fits) is not a problem worth a finding."""
    target = achievable(ev)
    return target is not None and not target.clearly_below(
        score_of(ev, "val" if ev.has_val else "train")
    )


def no_cost_seen(ev: Evidence) -> str | None:
    """Why a defect seen in the network (dead, saturated or identical units) cost the run
    nothing measurable, when it did not: the run has a score, and that score is not clearly
    below what is achievable (``nothing_to_gain``)."""
    scored = score_of(ev, "val" if ev.has_val else "train") is not None
    target = achievable(ev)
    if not scored or target is None or not nothing_to_gain(ev):
        return None
    return f" Yet the run reaches what is achievable here ({target.describe()}): no cost seen."


def slowed_by_setting(ev: Evidence) -> Suspect | None:
    """A setting that explains slow progress better than the learning rate or the epochs:
    strong regularisation (it shrinks every step), a schedule that killed the learning rate,
    a loss that does not fit the task, a bottleneck layer, frozen layers (their steps are 0,
    which reads as a rate too low)."""
    found = [*regularisation(ev), schedule(ev), clipping(ev), tiny_batch_norm(ev),
             loss_mismatch(ev), bounded_output(ev), small_huber_delta(ev), damping_eps(ev),
             bottleneck(ev), frozen(ev)]  # fmt: skip
    return max((s for s in found if s is not None), key=lambda s: s.weight, default=None)


def suspects_for_underfitting(ev: Evidence) -> list[Suspect]:
    """Every setting that can explain a model that does not fit its training data, the
    strongest first; capacity only when nothing else does."""
    found = [*regularisation(ev)]
    checks = (schedule, clipping, tiny_batch_norm, skewed_class_weight, early_stopping,
              loss_mismatch, bounded_output, small_huber_delta, damping_eps, bottleneck,
              frozen, linear_units, saturating)  # fmt: skip
    for check in checks:
        suspect = check(ev)
        if suspect is not None:
            found.append(suspect)
    lr = tiny_steps(ev)
    if lr is not None:
        found.append(lr)
    elif all(s.weight < STRONG for s in found) and (
        late_progress(ev) or too_short(ev) or few_steps(ev)
    ):
        found.extend(short_training(ev))  # still falling, or too short to tell
    found.sort(key=lambda s: -s.weight)
    return found or [capacity(ev)]
