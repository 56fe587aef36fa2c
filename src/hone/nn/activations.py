"""Hidden-layer activations by config name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from hone.registry import Registry

__all__ = ["ACTIVATIONS", "RELU_FAMILY", "SATURATING", "make_activation"]

ACTIVATIONS: Registry[Callable[[], nn.Module]] = Registry("activation", "model.activation")
ACTIVATIONS.add("sigmoid", nn.Sigmoid)
ACTIVATIONS.add("tanh", nn.Tanh)
ACTIVATIONS.add("relu", nn.ReLU)
ACTIVATIONS.add("leaky_relu", nn.LeakyReLU)
ACTIVATIONS.add("elu", nn.ELU)
ACTIVATIONS.add("gelu", nn.GELU)

# Families used by initialisers ("auto") and by diagnosis (dead vs saturated units).
RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "gelu"})
SATURATING = frozenset({"sigmoid", "tanh"})


def make_activation(name: str) -> nn.Module:
    return ACTIVATIONS.get(name)()
