"""Weight and bias initialisers by config name.

``auto`` picks He for the ReLU family and Xavier/Glorot for sigmoid/tanh. ``zeros``, ``uniform``
(U(0, 1)) and ``normal`` (N(0, 1)) exist on purpose: they are the classic ways to fail (all
units identical; activations exploding or saturating with depth), and hone's diagnosis shows why.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from hone.nn.activations import RELU_FAMILY
from hone.registry import Registry

__all__ = ["INITIALIZERS", "initialize", "theoretical_std"]

# (tensor, activation name, negative_slope, constant value) -> None, in place
_Init = Callable[[torch.Tensor, str, float, float], None]

INITIALIZERS: Registry[_Init] = Registry("initializer", "model.init")


def _fans(t: torch.Tensor) -> tuple[int, int]:
    receptive = math.prod(t.shape[2:]) if t.dim() > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive


def _he_gain(activation: str, slope: float) -> float:
    # Leaky ReLU keeps a fraction ``slope`` of negative inputs: gain sqrt(2 / (1 + slope^2)).
    return math.sqrt(2.0 / (1.0 + slope**2)) if activation == "leaky_relu" else math.sqrt(2.0)


def theoretical_std(
    name: str, shape: tuple[int, ...], activation: str, slope: float = 0.01
) -> float:
    """The standard deviation each scheme promises, for tests and for explanations."""
    t = torch.empty(shape)
    fan_in, fan_out = _fans(t)
    if name == "auto":
        name = "he_normal" if activation in RELU_FAMILY else "xavier_uniform"
    stds = {
        "zeros": 0.0,
        "constant": 0.0,
        "uniform": 1 / math.sqrt(12),
        "normal": 1.0,
        "xavier_uniform": math.sqrt(2 / (fan_in + fan_out)),
        "xavier_normal": math.sqrt(2 / (fan_in + fan_out)),
        "he_uniform": _he_gain(activation, slope) / math.sqrt(fan_in),
        "he_normal": _he_gain(activation, slope) / math.sqrt(fan_in),
        "lecun_normal": 1 / math.sqrt(fan_in),
        "torch_default": 1 / math.sqrt(3 * fan_in),
    }
    return stds[name]


@INITIALIZERS.register("auto")
def _auto(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    if activation in RELU_FAMILY:
        _he_normal(t, activation, slope, value)
    else:
        nn.init.xavier_uniform_(t, gain=1.0)


@INITIALIZERS.register("zeros")
def _zeros(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    nn.init.zeros_(t)


@INITIALIZERS.register("constant")
def _constant(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    nn.init.constant_(t, value)


@INITIALIZERS.register("uniform")
def _uniform(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    nn.init.uniform_(t, 0.0, 1.0)


@INITIALIZERS.register("normal")
def _normal(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    nn.init.normal_(t, 0.0, 1.0)


@INITIALIZERS.register("xavier_uniform")
def _xavier_uniform(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    nn.init.xavier_uniform_(t)


@INITIALIZERS.register("xavier_normal")
def _xavier_normal(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    nn.init.xavier_normal_(t)


@INITIALIZERS.register("he_uniform")
def _he_uniform(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    fan_in, _ = _fans(t)
    bound = math.sqrt(3.0) * _he_gain(activation, slope) / math.sqrt(fan_in)
    nn.init.uniform_(t, -bound, bound)


@INITIALIZERS.register("he_normal")
def _he_normal(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    fan_in, _ = _fans(t)
    nn.init.normal_(t, 0.0, _he_gain(activation, slope) / math.sqrt(fan_in))


@INITIALIZERS.register("lecun_normal")
def _lecun_normal(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    fan_in, _ = _fans(t)
    nn.init.normal_(t, 0.0, 1.0 / math.sqrt(fan_in))


@INITIALIZERS.register("torch_default")
def _torch_default(t: torch.Tensor, activation: str, slope: float, value: float) -> None:
    # What nn.Linear/Conv2d do on their own: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)).
    fan_in, _ = _fans(t)
    bound = 1.0 / math.sqrt(fan_in)
    nn.init.uniform_(t, -bound, bound)


def initialize(
    model: nn.Module, init: str, bias_init: str, activation: str, slope: float, value: float
) -> None:
    """Apply ``init`` to every dense/conv weight and ``bias_init`` to their biases.

    The output layer is followed by no hidden activation, so ``auto`` treats it as linear
    (Xavier), as Keras and the He paper do. Normalisation layers keep their (1, 0) defaults.
    """
    layers = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    with torch.no_grad():
        for i, layer in enumerate(layers):
            is_output = i == len(layers) - 1
            act = "linear" if is_output and init == "auto" else activation
            INITIALIZERS.get(init)(layer.weight, act, slope, value)
            if layer.bias is not None:
                if bias_init in ("auto", "zeros"):
                    nn.init.zeros_(layer.bias)
                elif bias_init == "constant":
                    nn.init.constant_(layer.bias, value)
                else:  # fan-based schemes need a matrix; use the layer's fan-in
                    fan_in = layer.weight[0].numel()
                    proxy = torch.empty(layer.bias.shape[0], fan_in)
                    INITIALIZERS.get(bias_init)(proxy, activation, slope, value)
                    layer.bias.copy_(proxy[:, 0])
