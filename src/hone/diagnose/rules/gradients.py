"""``vanishing_gradients`` and ``exploding_gradients``, from telemetry: the gradient per weight
(RMS) of each layer, compared across the network, and the absolute size of the gradient."""

from __future__ import annotations

import math
import statistics
from itertools import pairwise

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.rules.lr_too_high import lower_lr
from hone.diagnose.settings import STRONG, regularisation, tiny_batch_norm
from hone.diagnose.signals import (
    chance_accuracy,
    chance_loss,
    fits_training_set,
    global_grad_norms,
    grad_rms_by_layer,
    unscaled_inputs,
    weight_norms,
)
from hone.diagnose.step_size import smaller_step, step_causes
from hone.diagnose.suspect import Suspect

VANISH = 1e-2  # first-layer gradient RMS < 1 % of the last layer's
EXPLODE = 1e2  # some layer's gradient RMS > 100x the output layer's
HUGE_NORM = 1e3  # or the global gradient norm is typically above this
# ... or that little while the loss stayed at chance for the first epochs (at least this
# many): an adaptive optimizer may pull the net out later, but the run paid for the stall.
STALLED = 3
STALL_LOSS = 0.95  # a training loss within 5 % of the chance loss has learned nothing
DECAYING = 0.8  # ... or too small to tell from none, shrinking from layer to layer this often
SHRUNK = 0.1  # weights shrunk below a tenth of their starting norm pass little gradient back
PENALTIES = ("train.l2", "train.l1", "train.optimizer.weight_decay")
SATURATING = ("sigmoid", "tanh")  # activations whose slope is at most 1 and falls to 0


def _ratios(ev: Evidence, until: int | None = None) -> tuple[float, float, dict[str, float]] | None:
    """(first / last, largest / last) gradient RMS, and the RMS per layer (``until``: over
    the epochs up to it)."""
    if not ev.telemetry:
        return None
    rms = grad_rms_by_layer(ev.telemetry, until)
    if len(rms) < 2:
        return None
    values = list(rms.values())
    if not (values[-1] > 1e-12 and (values[0] > 1e-12 or _decays(values))):
        return None  # a layer with no gradient at all: dead or symmetric, not a ratio problem
    return values[0] / values[-1], max(values[:-1]) / values[-1], rms


def _decays(values: list[float]) -> bool:
    """A first-layer gradient too small to tell from none is still vanishing when it is not
    zero and the gradient shrinks layer by layer from the output down (a deep sigmoid stack
    takes it below 1e-12): a dead or symmetric layer cuts it off instead."""
    steps = list(pairwise(values))
    return values[0] > 0 and sum(a < b for a, b in steps) >= DECAYING * len(steps)


class VanishingGradients(Rule):
    code = "vanishing_gradients"

    def check(self, ev: Evidence) -> Finding | None:
        found = _ratios(ev)
        stalled = _stalled_start(ev)
        early = _ratios(ev, stalled) if stalled >= STALLED else None
        if fits_training_set(ev):
            return None
        if found is not None and found[0] < VANISH:
            when = ""
        elif early is not None and early[0] < VANISH:
            found, when = (
                early,
                f"For the first {stalled} epochs, while the loss stayed at chance, ",
            )
        else:
            return None
        ratio, _, rms = found
        hidden = ev.cfg("model.hidden") or [64]
        penalty = _shrunk_by_penalty(ev)
        out = [
            Prescription(
                "normalise each layer's inputs: gradients keep their scale through the stack",
                {"model.norm": "batch"},
            ),
            Prescription(
                "ReLU-family activations pass gradients through unchanged",
                {"model.activation": "leaky_relu", "model.init": "auto"},
            ),
            Prescription(
                "He/Xavier initialisation keeps the signal's scale", {"model.init": "auto"}
            ),
        ]
        if ev.cfg("model.activation") in SATURATING:
            # The activation is the first cause: its remedy first. Measured on three deep
            # sigmoid stacks (3 paired seeds each, batch norm / leaky ReLU): spiral 8x64,
            # SGD 0.1, 0.74 (0.33-1.0) / 1.0; moons 6x32, Adam, 0.94 / 0.95; digits 5x64,
            # SGD 0.05, 0.974 / 0.968.
            out[0], out[1] = out[1], out[0]
        if len(hidden) > 2:
            out.append(Prescription("fewer layers", {"model.hidden": hidden[:2]}))
        nothing = _learned_nothing(ev)
        why = _why(ratio, when, penalty, nothing)
        evidence = {"first_to_last_grad_rms": ratio, "grad_rms_by_layer": rms,
                    "activation": ev.cfg("model.activation"), "layers": len(hidden),
                    "learned_nothing": nothing}  # fmt: skip
        if when:
            evidence["stalled_epochs"] = stalled
        causes = _vanishing_causes(ev)
        noisy = tiny_batch_norm(ev)
        if noisy is not None:  # normalised by noise: what reaches the early layers is noise
            out, causes = [*noisy.remedies, *out], [noisy.key, "train.batch_size", *causes]
        if penalty is not None:
            evidence["weights_shrunk_to"] = penalty.evidence["shrunk_to"]
            out, causes = [*penalty.remedies, *out], [penalty.key, *causes]
        severity = "critical" if nothing else "warning"
        title = "Gradients vanish before they reach the first layers"
        return Finding(self.code, severity, title, why, evidence, out, causes=causes)


def _why(ratio: float, when: str, penalty: Suspect | None, nothing: bool) -> str:
    """The finding's explanation: the ratio (and when it held), then what made it so."""
    why = (f"{when}per weight, the first layer's gradient {'was' if when else 'is'} "
           f"{ratio:.2g}x the last layer's: early layers barely learn")  # fmt: skip
    why = why[0].upper() + why[1:]
    if penalty is not None:
        why += (f". {penalty.why[0].upper()}{penalty.why[1:]}: the weights shrank to "
                f"{penalty.evidence['shrunk_to']:.2g} of their norm at the start, and weights "
                "near zero pass almost no gradient back.")  # fmt: skip
    else:
        why += ". Saturating activations multiply the gradient by at most 0.25 (sigmoid) per layer."
    if nothing:
        why += " The network still scores what predicting class frequencies scores."
    return why


def _stalled_start(ev: Evidence) -> int:
    """How many epochs the training loss stayed at the chance loss from the start."""
    chance = chance_loss(ev)
    if chance is None:
        return 0
    epochs = 0
    for loss in ev.series("train_loss"):
        if not (math.isfinite(loss) and loss >= STALL_LOSS * chance):
            break
        epochs += 1
    return epochs


def _shrunk_by_penalty(ev: Evidence) -> Suspect | None:
    """A strong weight penalty (L2, L1, weight decay) under which the weights shrank below
    ``SHRUNK`` of their norm at the start: it, not the depth, starved the gradient."""
    norms = weight_norms(ev.telemetry)
    if len(norms) < 2 or norms[0] <= 0 or norms[-1] >= SHRUNK * norms[0]:
        return None
    strong = [s for s in regularisation(ev) if s.key in PENALTIES and s.weight >= STRONG]
    if not strong:
        return None
    strong[0].evidence["shrunk_to"] = norms[-1] / norms[0]
    return strong[0]


def _vanishing_causes(ev: Evidence) -> list[str]:
    """Saturating activations in a deep stack without normalisation; or the initialisation."""
    causes = []
    if ev.cfg("model.activation") in SATURATING:
        causes.append("model.activation")
    if ev.cfg("model.norm", "none") == "none":
        causes.append("model.norm")
    return [*causes, "model.hidden", "model.init"]


def _learned_nothing(ev: Evidence) -> bool:
    """After a few epochs the training loss and accuracy are still those of predicting class
    frequencies: with vanishing gradients, the run is stalled, not slow."""
    chance = chance_loss(ev)
    train = ev.series("train_loss")
    acc = ev.metrics.get("train_accuracy")
    return (
        chance is not None
        and len(train) >= 3
        and train[-1] >= 0.95 * chance
        and isinstance(acc, int | float)
        and acc <= chance_accuracy(ev) + 0.05
    )


class ExplodingGradients(Rule):
    code = "exploding_gradients"

    def check(self, ev: Evidence) -> Finding | None:
        found = _ratios(ev)
        tele = ev.telemetry or {}
        samples = tele.get("samples") or []
        non_finite = bool(tele.get("non_finite_at")) or any(
            s.get("finite") is False or s.get("grad_norm") is None for s in samples
        )
        norms = global_grad_norms(tele)
        typical = statistics.median(norms) if norms else 0.0
        growth = found[1] if found else math.nan
        grows = found is not None and growth > EXPLODE and not fits_training_set(ev)
        huge = typical > HUGE_NORM
        if not (non_finite or grows or huge):
            return None
        if non_finite:
            why = "The gradient became non-finite (inf/NaN) during training. "
        elif huge:
            why = f"The global gradient norm is typically {typical:.3g}, where 0.1-10 is usual. "
        else:
            why = ""
        out = [
            Prescription("clip the gradient norm", {"train.grad_clip": {"norm": 1.0}}),
        ]
        if unscaled_inputs(ev):
            out.insert(
                0,
                Prescription(
                    "standardise the inputs: large raw features make large gradients",
                    {"data.preprocess.scale": "standard"},
                ),
            )
        target = lower_lr(ev)
        out += [
            *smaller_step(ev, target, f"a smaller learning rate ({target:g})"),
            Prescription("normalise each layer's inputs", {"model.norm": "batch"}),
            Prescription("He/Xavier initialisation", {"model.init": "auto"}),
        ]
        return Finding(
            self.code,
            "critical" if non_finite or huge else "warning",
            "Gradients explode on the way back",
            why
            + (
                f"Per weight, an early layer's gradient is {growth:.3g}x the output layer's."
                if found
                else ""
            ),
            {
                "largest_to_last_grad_rms": growth,
                "first_to_last_grad_rms": found[0] if found else None,
                "non_finite_grad_norm": non_finite,
                "median_grad_norm": typical,
                "max_grad_norm": max(norms) if norms else None,
            },
            out,
            harmful={"lr": 1},
            causes=(["data.preprocess.scale"] if unscaled_inputs(ev) else [])
            + [*step_causes(ev), "train.grad_clip"],
        )
