"""``dead_units`` (ReLU units that output zero for every sample) and ``saturation``
(sigmoid/tanh outputs pinned at their bounds), from the last epoch's telemetry."""

from __future__ import annotations

from hone.diagnose.evidence import Evidence
from hone.diagnose.finding import Finding, Prescription
from hone.diagnose.rules.base import Rule
from hone.diagnose.signals import last_epoch_activation

DEAD = 0.4  # a layer with >= 40 % dead units
SATURATED = 0.3  # a layer with >= 30 % of outputs within 0.02 of a bound


class DeadUnits(Rule):
    code = "dead_units"

    def check(self, ev: Evidence) -> Finding | None:
        dead = last_epoch_activation(ev.telemetry or {}, "dead")
        worst = {k: v for k, v in dead.items() if v >= DEAD}
        if not worst:
            return None
        lr = float(ev.cfg("train.optimizer.lr", 0.01))
        layer, share = max(worst.items(), key=lambda kv: kv[1])
        return Finding(
            self.code,
            "critical" if share >= 0.8 else "warning",
            "Many ReLU units are dead",
            f"In {layer}, {share:.0%} of the units output zero for every sample of a batch, so "
            "they pass no gradient and never recover.",
            {"dead_fraction_by_layer": dead, "threshold": DEAD},
            [
                Prescription(
                    "LeakyReLU keeps a small gradient for negative inputs",
                    {"model.activation": "leaky_relu"},
                ),
                Prescription("ELU is smooth and never flat", {"model.activation": "elu"}),
                Prescription(
                    "a smaller learning rate knocks fewer units out", {"train.optimizer.lr": lr / 3}
                ),
                Prescription(
                    "He initialisation with zero biases",
                    {"model.init": "he_normal", "model.bias_init": "zeros"},
                ),
            ],
        )


class Saturation(Rule):
    code = "saturation"

    def check(self, ev: Evidence) -> Finding | None:
        sat = last_epoch_activation(ev.telemetry or {}, "saturated")
        worst = {k: v for k, v in sat.items() if v >= SATURATED}
        if not worst:
            return None
        layer, share = max(worst.items(), key=lambda kv: kv[1])
        return Finding(
            self.code,
            "warning",
            "Sigmoid/tanh units are saturated",
            f"In {layer}, {share:.0%} of the outputs sit within 0.02 of the activation's bounds, "
            "where its slope is almost zero and learning stalls.",
            {"saturated_fraction_by_layer": sat, "threshold": SATURATED},
            [
                Prescription(
                    "ReLU-family activations do not saturate for positive inputs",
                    {"model.activation": "leaky_relu", "model.init": "auto"},
                ),
                Prescription(
                    "normalise pre-activations to keep them in the linear range",
                    {"model.norm": "batch", "model.norm_position": "before_activation"},
                ),
                Prescription(
                    "Xavier initialisation keeps sigmoid/tanh inputs small",
                    {"model.init": "xavier_uniform"},
                ),
            ],
        )
