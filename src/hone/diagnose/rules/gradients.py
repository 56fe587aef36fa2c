"""``vanishing_gradients`` and ``exploding_gradients``: the gradient per weight (RMS) in the
first layer against the last, from telemetry; exploding also on non-finite gradient norms."""

from __future__ import annotations

import math

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import grad_rms_by_layer

VANISH = 1e-2  # first-layer gradient RMS < 1 % of the last layer's
EXPLODE = 1e2  # or > 100x


def _ratio(ev: Evidence) -> tuple[float, dict[str, float]] | None:
    if not ev.telemetry:
        return None
    rms = grad_rms_by_layer(ev.telemetry)
    if len(rms) < 2:
        return None
    values = list(rms.values())
    if not (values[0] > 1e-12 and values[-1] > 1e-12):
        return None  # a layer with no gradient at all: dead or symmetric, not a ratio problem
    return values[0] / values[-1], rms


class VanishingGradients(Rule):
    code = "vanishing_gradients"

    def check(self, ev: Evidence) -> Finding | None:
        found = _ratio(ev)
        if found is None or not (found[0] < VANISH):
            return None
        ratio, rms = found
        return Finding(
            self.code,
            "warning",
            "Gradients vanish before they reach the first layers",
            f"Per weight, the first layer's gradient is {ratio:.2g}x the last layer's: early "
            f"layers barely learn. Saturating activations multiply the gradient by at most "
            f"0.25 (sigmoid) per layer.",
            {
                "first_to_last_grad_rms": ratio,
                "grad_rms_by_layer": rms,
                "activation": ev.cfg("model.activation"),
            },
            [
                Prescription(
                    "ReLU-family activations pass gradients through unchanged",
                    {"model.activation": "leaky_relu", "model.init": "auto"},
                ),
                Prescription("normalise each layer's inputs", {"model.norm": "batch"}),
                Prescription(
                    "He/Xavier initialisation keeps the signal's scale", {"model.init": "auto"}
                ),
                Prescription(
                    "fewer layers", {"model.hidden": (ev.cfg("model.hidden") or [64])[:2]}
                ),
            ],
        )


class ExplodingGradients(Rule):
    code = "exploding_gradients"

    def check(self, ev: Evidence) -> Finding | None:
        found = _ratio(ev)
        norms = [s["grad_norm"] for s in (ev.telemetry or {}).get("samples", [])]
        non_finite = any(not math.isfinite(n) for n in norms)
        if not non_finite and (found is None or not (found[0] > EXPLODE)):
            return None
        ratio = found[0] if found else math.nan
        return Finding(
            self.code,
            "critical" if non_finite else "warning",
            "Gradients explode on the way back",
            ("The global gradient norm became non-finite. " if non_finite else "")
            + f"Per weight, the first layer's gradient is {ratio:.3g}x the last layer's.",
            {
                "first_to_last_grad_rms": ratio,
                "non_finite_grad_norm": non_finite,
                "max_grad_norm": max(norms) if norms else None,
            },
            [
                Prescription("clip the gradient norm", {"train.grad_clip": {"norm": 1.0}}),
                Prescription("normalise each layer's inputs", {"model.norm": "batch"}),
                Prescription("He/Xavier initialisation", {"model.init": "auto"}),
                Prescription(
                    "a 10x smaller learning rate",
                    {"train.optimizer.lr": float(ev.cfg("train.optimizer.lr", 0.01)) / 10},
                ),
            ],
        )
