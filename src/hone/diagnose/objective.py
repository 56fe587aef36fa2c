"""What the loss asks of the model, as a cause: a loss made for another task (MSE on one-hot
classes), an output that cannot reach the targets (a sigmoid on standardised regression
targets), class weights that tilt the loss past what balancing the classes needs. Each is a
setting that caps how well the model can fit, whatever its capacity or its steps
(``hone.diagnose.settings`` weighs them with the others)."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Prescription
from hone.diagnose.signals import finite, train_stats
from hone.diagnose.suspect import Suspect

__all__ = ["bounded_output", "loss_mismatch", "skewed_class_weight", "small_huber_delta"]

SKEWED_WEIGHT = 4.0  # class weights that give one class this many times another's loss share
IMBALANCED_COUNTS = 1.5  # ... on classes this uneven: balanced weights; else none
BOUNDED = ("sigmoid", "softmax")  # outputs that live in (0, 1)
SMALL_DELTA = 0.1  # a Huber delta under this share of the targets' spread caps every gradient
# Optimizers whose step is the gradient times the rate: a capped gradient is a capped step
# (Adam, RMSprop and Adagrad divide its scale back out).
PLAIN_STEP = ("sgd", "momentum", "nesterov")


def skewed_class_weight(ev: Evidence) -> Suspect | None:
    """Class weights that tilt the loss far past what balancing the training classes needs:
    the model then trades the other classes' accuracy for the favoured one's. Each weight
    times its class's count is that class's share of the loss; ``balanced`` makes the
    shares equal. (The Keras blobs with class 0 weighted 20 on balanced classes: val accuracy
    0.775 against 0.86.)"""
    weights = ev.cfg("train.class_weight")
    classes = [str(c) for c in ev.data.get("classes") or []]
    counts = finite(train_stats(ev).get("class_counts") or [])
    if not isinstance(weights, dict) or not classes or len(counts) != len(classes):
        return None
    shares = {c: float(weights.get(c, 1.0)) * n for c, n in zip(classes, counts, strict=True)
              if n > 0}  # fmt: skip
    low, high = min(shares.values(), default=0.0), max(shares.values(), default=0.0)
    if low <= 0 or high < SKEWED_WEIGHT * low:
        return None
    favoured = max(shares, key=shares.__getitem__)
    imbalanced = max(counts) >= IMBALANCED_COUNTS * max(1.0, min(n for n in counts if n > 0))
    remedy = (Prescription("weights that balance the classes' counts",
                           {"train.class_weight": "balanced"}) if imbalanced else
              Prescription("no class weights: the classes are balanced already",
                           {"train.class_weight": None}))  # fmt: skip
    return Suspect(
        "train.class_weight",
        f"class weights give class {favoured} {high / low:.0f}x the loss share of another",
        0.9,
        [remedy],
        {"loss_share_ratio": high / low},
    )


def loss_mismatch(ev: Evidence) -> Suspect | None:
    """Classification trained with MSE: its gradients vanish exactly where a wrong
    confident prediction needs them most. A stronger suspect than a loss still falling at
    the last epoch: that is how the mismatch shows, and training longer treats only the
    symptom (the book's digits net, sigmoid + MSE + SGD at 0.01, val 0.18 after 10 epochs:
    twice the epochs gave +0.09, cross-entropy +0.64, 5 paired seeds)."""
    if ev.task != "classification" or ev.cfg("train.loss") != "mse":
        return None
    return Suspect(
        "train.loss",
        "classification trained with MSE on one-hot targets",
        0.85,
        [
            Prescription(
                "cross-entropy, the loss made for classification",
                {"train.loss": "cross_entropy", "model.output_activation": "auto"},
            )
        ],
    )


def bounded_output(ev: Evidence) -> Suspect | None:
    """A regression whose output activation lives in (0, 1) while its targets do not: a
    standardised target is negative half the time. (A [64, 64] regression net with a sigmoid
    output: train R² -0.9, where the same net without it reaches 0.99.)"""
    output = ev.cfg("model.output_activation")
    if ev.task != "regression" or output not in BOUNDED:
        return None
    target = (ev.data.get("preprocess") or {}).get("target") or {}
    train = train_stats(ev)
    mean, std = finite(train.get("y_mean") or []), finite(train.get("y_std") or [])
    spread = bool(mean and std) and (mean[0] - std[0] < 0 or mean[0] + std[0] > 1)
    if target.get("kind") != "standard" and not spread:
        return None  # targets inside (0, 1): a bounded output can reach them
    return Suspect(
        "model.output_activation",
        f"a {output} output bounds every prediction to (0, 1), where the targets are not",
        0.95,
        [Prescription("an unbounded output for regression", {"model.output_activation": "auto"})],
    )


def small_huber_delta(ev: Evidence) -> Suspect | None:
    """A Huber loss whose ``delta`` is a small share of the targets' spread, under an
    optimizer that steps by the gradient: past ``delta`` the loss is linear, its gradient
    ``delta`` per row whatever the error, so every step is ``delta`` times what MSE would
    take. (A [64, 64] regression net, SGD at 0.01, delta 0.001 on a standardised target:
    val R² -0.9, read as a rate too low, where lr 0.1 reached 0.57 and delta 1 at lr 0.01
    reaches 0.975; under Adam the same delta trains to 0.98.)"""
    delta = ev.cfg("train.huber_delta")
    optimizer = str(ev.cfg("train.optimizer.name", "adam"))
    if ev.task != "regression" or ev.cfg("train.loss") != "huber" or optimizer not in PLAIN_STEP:
        return None
    target = (ev.data.get("preprocess") or {}).get("target") or {}
    std = finite(train_stats(ev).get("y_std") or [])
    spread = 1.0 if target.get("kind") == "standard" else (std[0] if std else None)
    if not isinstance(delta, int | float) or not spread or delta >= SMALL_DELTA * spread:
        return None
    return Suspect(
        "train.huber_delta",
        f"a Huber delta of {delta:g} caps each row's gradient at {delta / spread:.2g} of the "
        f"targets' spread, so {optimizer}'s steps are that small",
        0.92,
        [Prescription("a Huber delta on the scale of the targets",
                      {"train.huber_delta": float(f"{spread:.3g}")})],
        {"huber_delta": delta, "target_spread": spread},
    )  # fmt: skip
