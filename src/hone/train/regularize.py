"""L1 and L2 penalties added to the loss: ``l1 * sum|W| + (l2 / 2) * sum W^2``.

Only dense and convolution weights are penalised unless ``regularize_bias`` is set (then every
parameter is, biases and normalisation scales included). This is the textbook's L2 term, whose
gradient is ``l2 * W``; it is distinct from an optimizer's decoupled ``weight_decay``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Penalty", "penalized_parameters"]


def penalized_parameters(model: nn.Module, include_bias: bool) -> list[torch.Tensor]:
    if include_bias:
        return [p for p in model.parameters() if p.requires_grad]
    found: list[torch.Tensor] = []
    for m in model.modules():
        if isinstance(m, nn.Linear | nn.Conv2d) and m.weight.requires_grad:
            found.append(m.weight)
    return found


class Penalty:
    """Callable returning ``[l1 term, l2 term]`` for the model's current weights; the
    objective adds their sum, and the history records each so its share is visible."""

    def __init__(self, params: list[torch.Tensor], l1: float, l2: float) -> None:
        self.params = params
        self.l1 = l1
        self.l2 = l2

    def __call__(self) -> torch.Tensor:
        zero = torch.zeros((), device=self.params[0].device)
        l1 = self.l1 * sum((p.abs().sum() for p in self.params), zero) if self.l1 else zero
        l2 = self.l2 / 2 * sum((p.pow(2).sum() for p in self.params), zero) if self.l2 else zero
        return torch.stack([l1, l2])
