"""Shared signals over what a real run stores: missing keys, None (JSON's null) and NaN."""

from __future__ import annotations

import math

from hone.diagnose.signals import at_init_activation


def test_at_init_activation_reads_hidden_layers_with_a_finite_value() -> None:
    telemetry = {
        "at_init": {
            "hidden1.act": {"saturated": 0.75, "std": 1.0},
            "hidden2.act": {"saturated": None},  # a non-finite value, stored as null
            "hidden3.act": {"saturated": math.nan},
            "hidden4.act": {"std": 2.0},  # not measured for this layer
            "hidden5.act": None,
            "output": {"saturated": 1.0},  # the output layer is not a hidden unit
        }
    }
    assert at_init_activation(telemetry, "saturated") == {"hidden1.act": 0.75}
    assert at_init_activation(telemetry, "std") == {"hidden1.act": 1.0, "hidden4.act": 2.0}


def test_at_init_activation_without_telemetry_is_empty() -> None:
    assert at_init_activation({}, "saturated") == {}
    assert at_init_activation({"at_init": None}, "saturated") == {}
