"""Hidden-layer activations by config name, including a real Maxout unit."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from hone.registry import Registry

__all__ = ["ACTIVATIONS", "RELU_FAMILY", "SATURATING", "Maxout", "make_activation", "width_factor"]


class Maxout(nn.Module):
    """Maxout (Goodfellow et al., 2013): the max over ``pieces`` linear pieces per unit.

    The preceding dense/conv layer produces ``units * pieces`` features, grouped per unit as
    consecutive blocks of ``pieces``; this module keeps the largest of each group.
    """

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grouped = x.reshape(x.shape[0], -1, self.pieces, *x.shape[2:])
        return grouped.amax(dim=2)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


_Factory = Callable[[float, float, int], nn.Module]  # (negative_slope, alpha, pieces)

ACTIVATIONS: Registry[_Factory] = Registry("activation", "model.activation")
ACTIVATIONS.add("sigmoid", lambda slope, alpha, pieces: nn.Sigmoid())
ACTIVATIONS.add("tanh", lambda slope, alpha, pieces: nn.Tanh())
ACTIVATIONS.add("relu", lambda slope, alpha, pieces: nn.ReLU())
ACTIVATIONS.add("leaky_relu", lambda slope, alpha, pieces: nn.LeakyReLU(slope))
ACTIVATIONS.add("elu", lambda slope, alpha, pieces: nn.ELU(alpha))
ACTIVATIONS.add("gelu", lambda slope, alpha, pieces: nn.GELU())
ACTIVATIONS.add("maxout", lambda slope, alpha, pieces: Maxout(pieces))

# Families used by initialisers ("auto") and by diagnosis (dead vs saturated units).
RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "gelu", "maxout"})
SATURATING = frozenset({"sigmoid", "tanh"})


def make_activation(
    name: str, negative_slope: float = 0.01, alpha: float = 1.0, pieces: int = 2
) -> nn.Module:
    return ACTIVATIONS.get(name)(negative_slope, alpha, pieces)


def width_factor(name: str, pieces: int) -> int:
    """How many pre-activation features one unit needs (``pieces`` for maxout, else 1)."""
    return pieces if name == "maxout" else 1
