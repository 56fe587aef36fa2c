"""Numbers the rules share: curve trends judged against the curve's own noise, chance level,
telemetry summaries. Every helper accepts what a real run stores: NaN, ``None`` (JSON's null
for a non-finite value), empty and single-epoch series."""

from __future__ import annotations

import math
import statistics
from itertools import pairwise
from typing import Any

from hone.diagnose.evidence import Evidence

__all__ = [
    "DEAD_SHARE",
    "FEW_STEPS",
    "SAFE_LR",
    "STRONG_DROPOUT",
    "at_init_activation",
    "chance_accuracy",
    "chance_loss",
    "dropout_inflated",
    "dropout_lifted",
    "dropout_thinned",
    "finite",
    "fits_training_set",
    "fraction_rising",
    "global_grad_norms",
    "grad_rms_by_layer",
    "last_epoch_activation",
    "loss_at_start",
    "median_update_ratio",
    "nice",
    "noise_level",
    "relative_drop",
    "sampled_epochs",
    "smooth",
    "steps_per_epoch",
    "tail",
    "train_rows",
    "train_stats",
    "unscaled_inputs",
    "untrained_loss",
]

# A layer with this share of its ReLU units dead works as a fraction of its width: the units
# rule names it, and a rate far above the safe one that left it so is too high.
DEAD_SHARE = 0.4

STRONG_DROPOUT = 0.5  # dropping half the units or more each step
# Dropout's inflation of the training loss: it sat this many times above the validation loss
# in INFLATED_EPOCHS epochs or more (and a third of them at least).
INFLATION, INFLATED_EPOCHS = 2.0, 3
LEARNED = 0.9  # a validation loss below this share of an untrained network's: it learned
SAMPLED_ROWS = 400  # an epoch loss averaged over fewer rows has a standard error over ~5 %
FEW_STEPS = 200  # fewer optimizer steps than this in a whole run is a short run
# ... or thinned its training accuracy: training mode scored less than half of what the same
# rows score with dropout off above the majority class.
THINNED = 0.5

# A learning rate that is safe to step down to (or up to) for each optimizer family.
SAFE_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05, "rmsprop": 0.003,
           "adam": 0.003, "adamw": 0.003}  # fmt: skip


def nice(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits (0.0133, not 0.013333333333333334)."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


def finite(values: Any) -> list[float]:
    """The finite numbers in ``values`` (``None``, NaN, inf and non-numbers dropped)."""
    out = []
    for v in values or []:
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


def tail(values: list[float], share: float = 0.2, minimum: int = 3) -> list[float]:
    """The last ``share`` of a curve (at least ``minimum`` points, at most all of it)."""
    k = max(minimum, math.ceil(len(values) * share))
    return values[-k:]


def relative_drop(values: list[float]) -> float:
    """(first - last) / |first|: positive when the curve went down."""
    if len(values) < 2 or values[0] == 0:
        return 0.0
    return (values[0] - values[-1]) / abs(values[0])


def smooth(values: list[float], window: int) -> list[float]:
    """Centred moving median: robust to single-epoch spikes."""
    half = max(0, window // 2)
    return [statistics.median(values[max(0, i - half) : i + half + 1]) for i in range(len(values))]


def noise_level(values: list[float], window: int = 5) -> float:
    """Epoch-to-epoch noise: a robust std (1.4826 MAD) of the curve around its smoothed self."""
    if len(values) < 3:
        return 0.0
    residuals = [v - s for v, s in zip(values, smooth(values, window), strict=True)]
    med = statistics.median(residuals)
    return 1.4826 * statistics.median([abs(r - med) for r in residuals])


def fraction_rising(values: list[float], tolerance: float = 0.05, skip_first: bool = True) -> float:
    """Share of steps where the value rose by more than ``tolerance`` relative to itself and to
    the curve's range. The first epoch is left out of the range, so one early spike (a loss of
    1e11 in epoch 1) cannot hide the bouncing that follows."""
    body = values[1:] if skip_first and len(values) > 3 else values
    if len(body) < 2:
        return 0.0
    floor = tolerance * (max(body) - min(body))
    rises = sum(1 for a, b in pairwise(body) if b - a > tolerance * abs(a) and b - a > floor)
    return rises / (len(body) - 1)


def median_update_ratio(telemetry: dict[str, Any]) -> float | None:
    """Median over samples and layers of |weight update| / |weight| for one step."""
    ratios = finite(
        s.get("update_ratio")
        for sample in telemetry.get("samples") or []
        for s in (sample.get("layers") or {}).values()
    )
    return float(statistics.median(ratios)) if ratios else None


def train_stats(ev: Evidence) -> dict[str, Any]:
    """What the run recorded about its training split (rows, feature and target moments,
    class counts); empty when nothing was."""
    stats = (ev.data.get("stats") or {}).get("train")
    return stats if isinstance(stats, dict) else {}


def train_rows(ev: Evidence) -> int:
    """Rows in the training split (0: not known)."""
    n = finite([train_stats(ev).get("n")])
    return int(n[0]) if n else 0


def chance_accuracy(ev: Evidence) -> float:
    """Accuracy of always predicting the training set's majority class."""
    counts = finite(train_stats(ev).get("class_counts") or [])
    if counts and sum(counts):
        return float(max(counts) / sum(counts))
    n = len(ev.data.get("classes") or []) or 2
    return 1.0 / n


def chance_loss(ev: Evidence) -> float | None:
    """The cross-entropy of predicting the class frequencies (what a model that learned
    nothing scores), or None when the loss is not cross-entropy."""
    if ev.task != "classification" or ev.cfg("train.loss") != "cross_entropy":
        return None
    counts = finite(train_stats(ev).get("class_counts") or [])
    total = sum(counts)
    if not total:
        return None
    return -sum(c / total * math.log(c / total) for c in counts if c)


def untrained_loss(ev: Evidence) -> tuple[float, str] | None:
    """The loss of a model that learned nothing, and what it predicts: class frequencies
    (cross-entropy), or 0 for every row (MSE: what a freshly initialised network outputs,
    measured on the targets as the loss sees them, after their scaling); else None."""
    chance = chance_loss(ev)
    if chance is not None:
        return chance, "predicting class frequencies"
    if ev.task != "regression" or ev.cfg("train.loss") != "mse":
        return None
    train = train_stats(ev)
    means, stds = finite(train.get("y_mean") or []), finite(train.get("y_std") or [])
    if not means or len(means) != len(stds):
        return None
    target = (ev.data.get("preprocess") or {}).get("target") or {}
    shift = finite(target.get("shift") or []) or [0.0] * len(means)
    scale = finite(target.get("scale") or []) or [1.0] * len(means)
    if len(shift) != len(means) or len(scale) != len(means) or not all(scale):
        return None
    rows = zip(means, stds, shift, scale, strict=True)
    loss = statistics.fmean(((m - a) / b) ** 2 + (s / b) ** 2 for m, s, a, b in rows)
    return loss, "predicting 0 for every row (an untrained network's output)"


def loss_at_start(ev: Evidence) -> float | None:
    """The loss of the first step's batch, before any update (the first telemetry sample,
    where it is epoch 1's first step): what this network started at, which a badly scaled
    initialisation puts far above ``untrained_loss``."""
    samples = (ev.telemetry or {}).get("samples") or []
    first = samples[0] if samples and isinstance(samples[0], dict) else {}
    if first.get("epoch") != 1 or first.get("step") != 1:
        return None
    loss = finite([first.get("loss")])
    return loss[0] if loss else None


def weight_norms(telemetry: dict[str, Any] | None) -> list[float]:
    """The norm of all measured layers' weights at each telemetry sample, in order."""
    out = []
    for sample in (telemetry or {}).get("samples") or []:
        norms = finite(s.get("weight_norm") for s in (sample.get("layers") or {}).values())
        if norms:
            out.append(math.sqrt(sum(n * n for n in norms)))
    return out


def global_grad_norms(telemetry: dict[str, Any] | None) -> list[float]:
    return finite(s.get("grad_norm") for s in (telemetry or {}).get("samples") or [])


def grad_rms_by_layer(telemetry: dict[str, Any], until: int | None = None) -> dict[str, float]:
    """Median over samples of each layer's gradient RMS (norm / sqrt(parameters));
    ``until``: only the samples of the epochs up to it."""
    per_layer: dict[str, list[float]] = {}
    for sample in telemetry.get("samples") or []:
        epoch = sample.get("epoch")
        if until is not None and isinstance(epoch, int | float) and epoch > until:
            continue
        for name, stats in (sample.get("layers") or {}).items():
            norm = finite([stats.get("grad_norm")])
            numel = stats.get("numel") or 1
            if norm and isinstance(numel, int | float) and numel > 0:
                per_layer.setdefault(name, []).append(norm[0] / math.sqrt(numel))
    order = telemetry.get("layers") or list(per_layer)
    return {name: float(statistics.median(per_layer[name])) for name in order if name in per_layer}


def at_init_activation(telemetry: dict[str, Any], key: str) -> dict[str, float]:
    """Activation statistic ``key`` per hidden layer at initialisation, before any step
    (layers where it is missing or not finite are left out)."""
    at_init = telemetry.get("at_init") or {}
    measured = {k: finite([(v or {}).get(key)]) for k, v in at_init.items()}
    return {k: v[0] for k, v in measured.items() if v and not k.startswith("output")}


def last_epoch_activation(telemetry: dict[str, Any], key: str) -> dict[str, float]:
    """Activation statistic ``key`` per layer at the end of training: from the probe batch
    of fixed training rows when recorded, else the mean over the last epoch's samples."""
    at_end = telemetry.get("at_end") or {}
    if at_end:
        out = {}
        for name, stats in at_end.items():
            value = finite([(stats or {}).get(key)])
            if value:
                out[name] = value[0]
        return out
    samples = [s for s in telemetry.get("samples") or [] if s.get("finite", True)]
    if not samples:
        return {}
    last = samples[-1].get("epoch")
    values: dict[str, list[float]] = {}
    for sample in samples:
        if sample.get("epoch") != last:
            continue
        for name, stats in (sample.get("activations") or {}).items():
            values.setdefault(name, []).extend(finite([(stats or {}).get(key)]))
    return {name: statistics.fmean(v) for name, v in values.items() if v}


def fits_training_set(ev: Evidence, level: float = 0.95) -> bool:
    """Train accuracy (or R²) of at least ``level``: whatever dead, saturated or slow units
    the network has, they are not what holds it back."""
    if ev.task == "regression":
        r2 = (ev.evaluation.get("train") or {}).get("r2")
        return isinstance(r2, int | float) and r2 >= level
    acc = ev.metrics.get("train_accuracy")
    return isinstance(acc, int | float) and acc >= level


def dropout_inflated(ev: Evidence) -> bool:
    """The training loss says more about dropout than about the weights: with strong dropout,
    the loss measured in training mode sat ``INFLATION`` times or more above the validation
    loss the same weights scored with dropout off, epoch after epoch. Inverted dropout
    multiplies what each layer passes on by 1 / (1 - rate), so in a deep stack a rate of 0.85
    can lift the training loss 20-fold while validation sits at the level of predicting class
    frequencies. A rate too high throws the weights themselves, and both losses show it; a
    large first epoch alone is that (a rate that knocked the network out), not dropout."""
    if float(ev.cfg("model.dropout") or 0.0) < STRONG_DROPOUT:
        return False
    pairs = [(t, v) for t, v in zip(ev.series("train_loss"), ev.series("val_loss"), strict=False)
             if math.isfinite(t) and math.isfinite(v) and v > 0]  # fmt: skip
    inflated = sum(t >= INFLATION * v for t, v in pairs)
    return inflated >= max(INFLATED_EPOCHS, len(pairs) / 3)


def dropout_lifted(ev: Evidence, exploded: float, untrained: float) -> bool:
    """Strong dropout, and a training loss that soared past ``exploded`` while the
    validation loss (the same weights, dropout off) never did and fell clearly below the
    ``untrained`` network's: inverted dropout scaled what the units passed on while the
    network learned; the steps did not throw the weights. (Dropout 0.8 in a [64, 64]
    regression net, Adam at 0.003: training loss 38 in its first epoch, validation 1.2,
    falling from there to 0.6 and 0.53, where predicting 0 scores 1.) A validation loss that
    stays at the untrained level after a thrown first epoch is the rate's doing."""
    if float(ev.cfg("model.dropout") or 0.0) < STRONG_DROPOUT:
        return False
    val = finite(ev.series("val_loss"))
    return bool(val) and max(val) <= exploded and min(val) < LEARNED * untrained


def dropout_thinned(ev: Evidence) -> bool:
    """The training curve measures the network dropout thins, not the one it validates:
    with strong dropout its loss is inflated (``dropout_inflated``), or its last epoch's
    accuracy in training mode kept less than ``THINNED`` of what the same training rows
    score at the end with dropout off, above the majority class. (Seed 38: dropout 0.894 in
    a [16] net on a CSV: 0.45 in training mode against 0.70 with dropout off, the majority
    0.34; its training loss still fell 7 % over the last epochs while validation had not
    improved for 8.)"""
    if dropout_inflated(ev):
        return True
    if float(ev.cfg("model.dropout") or 0.0) < STRONG_DROPOUT:
        return False
    thinned = finite(ev.series("train_accuracy")[-1:])
    full = finite([ev.metrics.get("train_accuracy")])
    if not thinned or not full:
        return False
    chance = chance_accuracy(ev)
    return full[0] > chance and thinned[0] - chance < THINNED * (full[0] - chance)


def unscaled_inputs(ev: Evidence) -> bool:
    """Raw features far from unit scale while ``data.preprocess.scale`` is off."""
    if ev.cfg("data.preprocess.scale", "none") != "none":
        return False
    train = train_stats(ev)
    means, stds = finite(train.get("mean") or []), finite(train.get("std") or [])
    return bool(means and stds) and (max(map(abs, means)) > 5 or max(stds) > 5)


def longer(ev: Evidence, epochs_run: int) -> int:
    """Twice the epochs the run trained, never fewer than it was configured for: a run cut
    short (early stopping, live diagnosis, a pruner) was not short of configured epochs, and
    the prescription then equals the config and is dropped as a no-op. Nor fewer than take
    ``FEW_STEPS`` optimizer steps: doubling a run of a few dozen steps is still a few dozen.
    (Seeds 38 and 39 and the development half: moons nets of 1 or 2 epochs told to train 2 or
    4 measured no difference; a [64]x4 net at 12 steps an epoch scored 0.88 after 2 and 4
    epochs, 0.96 after 8, 0.99 after 16, 3 seeds each.)"""
    steps = steps_per_epoch(ev)
    enough = math.ceil(FEW_STEPS / steps) if steps else 0
    return max(2 * max(1, epochs_run), int(ev.cfg("train.epochs", 0) or 0), enough)


def sampled_epochs(ev: Evidence) -> bool:
    """Each epoch's training loss averages fewer than ``SAMPLED_ROWS`` rows of a larger
    training split (epochs capped at a few batches, ``train.steps_per_epoch``): its standard
    error is over 5 % of the loss, so epoch-to-epoch rises of 5 % are sampling, not steps
    that overshoot. (Moons capped at one batch of 32 an epoch, Adam at 0.01: the loss rose
    in 37 % of 40 epochs, read as a rate too high.) A full batch has no such noise."""
    n, batch = train_rows(ev), ev.cfg("train.batch_size")
    if not n or not isinstance(batch, int) or batch <= 0:
        return False
    return steps_per_epoch(ev) * batch < min(SAMPLED_ROWS, n)


def steps_per_epoch(ev: Evidence) -> int:
    """Optimizer steps in one of the run's epochs (0: the size of its training split is not
    known)."""
    n, batch = train_rows(ev), ev.cfg("train.batch_size")
    if not n:
        return 0
    if not isinstance(batch, int) or batch <= 0:
        return 1  # "full": one step an epoch
    steps = max(1, math.ceil(n / batch))
    capped = ev.cfg("train.steps_per_epoch")
    return min(steps, capped) if isinstance(capped, int) and capped > 0 else steps
