"""Initialisers against theory: empirical std of a large layer within 3 % of the promise."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hone.config import load_config
from hone.nn.build import build_model
from hone.nn.init import INITIALIZERS, initialize, theoretical_std

FAN_IN, FAN_OUT = 800, 1200
STOCHASTIC = [n for n in INITIALIZERS if n not in ("zeros", "constant")]


@pytest.mark.parametrize("name", STOCHASTIC)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh"])
def test_std_matches_theory(name: str, activation: str) -> None:
    torch.manual_seed(0)
    layer = nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.Linear(FAN_OUT, 2))
    initialize(layer, name, "zeros", activation, slope=0.2, value=0.0)
    expected = theoretical_std(name, (FAN_OUT, FAN_IN), activation, slope=0.2)
    got = float(layer[0].weight.detach().std())
    assert got == pytest.approx(expected, rel=0.03), (name, activation)


def test_formulas() -> None:
    shape = (FAN_OUT, FAN_IN)
    assert theoretical_std("he_normal", shape, "relu") == pytest.approx(math.sqrt(2 / FAN_IN))
    assert theoretical_std("he_normal", shape, "leaky_relu", 0.2) == pytest.approx(
        math.sqrt(2 / (1.04 * FAN_IN))
    )
    assert theoretical_std("xavier_uniform", shape, "tanh") == pytest.approx(
        math.sqrt(2 / (FAN_IN + FAN_OUT))
    )
    assert theoretical_std("lecun_normal", shape, "tanh") == pytest.approx(1 / math.sqrt(FAN_IN))


def test_auto_picks_he_for_relu_and_xavier_for_tanh() -> None:
    for activation, expected in (("relu", math.sqrt(2 / 1000)), ("tanh", math.sqrt(2 / 1500))):
        torch.manual_seed(0)
        cfg = load_config({"model": {"hidden": [500], "activation": activation}})
        model = build_model(cfg.model, (1000,), 3)
        assert float(model.hidden1.dense.weight.detach().std()) == pytest.approx(expected, rel=0.03)


def test_zeros_constant_and_bias_init() -> None:
    cfg = load_config(
        {"model": {"hidden": [8], "init": "constant", "init_value": 0.3, "bias_init": "constant"}}
    )
    model = build_model(cfg.model, (4,), 2)
    assert torch.all(model.hidden1.dense.weight == 0.3) and torch.all(model.output.bias == 0.3)
    zeros = build_model(load_config({"model": {"init": "zeros"}}).model, (4,), 2)
    assert all(float(p.detach().abs().sum()) == 0 for p in zeros.parameters())
    default = build_model(load_config({}).model, (4,), 2)
    assert float(default.hidden1.dense.bias.detach().abs().sum()) == 0.0  # biases start at zero


def test_output_layer_is_treated_as_linear_by_auto() -> None:
    torch.manual_seed(0)
    model = build_model(load_config({"model": {"hidden": [1000]}}).model, (10,), 1000)
    assert float(model.output.weight.detach().std()) == pytest.approx(math.sqrt(2 / 2000), rel=0.03)
