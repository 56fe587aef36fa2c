"""The last layer of a regression model trained on standardised targets.

With ``data.preprocess.target_scale: standard`` the network learns ``(y - mean) / std``; this
fixed layer maps its outputs back (``out * std + mean``), so the model itself, and everything
that uses it (evaluation, predictions, ``hone.load``, TorchScript and ONNX exports), speaks in
the target's own units. Its mean and std are buffers that are not saved with the weights: the
run's ``data.json`` holds them (``preprocess.target``), and the weights file of a model with
and without this layer has the same tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["TargetScale", "TargetScaled", "add_target_scale", "target_scale_of"]


class TargetScale(nn.Module):
    """``x * scale + shift`` per output column, with fixed (non-trainable) ``shift``/``scale``."""

    shift: torch.Tensor
    scale: torch.Tensor

    def __init__(self, shift: Sequence[float], scale: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor(list(shift), dtype=torch.float32),
                             persistent=False)  # fmt: skip
        self.register_buffer("scale", torch.tensor(list(scale), dtype=torch.float32),
                             persistent=False)  # fmt: skip

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TargetScale:
        """From a run's fitted target scaler (``preprocess["target"]``)."""
        return cls(state["shift"], state["scale"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift

    def extra_repr(self) -> str:
        return f"outputs={self.shift.numel()}"


class TargetScaled(nn.Module):
    """A module of your own followed by ``TargetScale`` (your module is left as it is)."""

    def __init__(self, inner: nn.Module, target: TargetScale) -> None:
        super().__init__()
        self.inner = inner
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.target(self.inner(x))
        return out


def add_target_scale(model: nn.Module, state: dict[str, Any] | None, own: bool) -> nn.Module:
    """``model`` with the target scaler ``state`` as its last layer (``model`` itself when
    ``state`` is ``None``). hone's own ``nn.Sequential`` gains a ``target`` layer in place, so
    layer names (``hidden1``, ``output``) and weights stay as they are; a module of your own
    (``own``) is wrapped instead, never modified."""
    if state is None:
        return model
    layer = TargetScale.from_state(state)
    param = next(model.parameters(), None)
    if param is not None:
        layer = layer.to(param.device)
    if own or not isinstance(model, nn.Sequential):
        return TargetScaled(model, layer)
    model.add_module("target", layer)
    return model


def target_scale_of(model: nn.Module) -> TargetScale | None:
    """The model's ``TargetScale`` layer, if it has one."""
    return next((m for m in model.modules() if isinstance(m, TargetScale)), None)
