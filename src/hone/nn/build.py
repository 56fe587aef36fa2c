"""Build a model from ``model:`` config: named blocks so reports and transfer can address layers."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from hone.config import ModelConfig
from hone.nn.activations import make_activation

__all__ = ["LayerRow", "build_model", "describe_model"]


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int) -> nn.Sequential:
    """An MLP: ``flatten`` -> ``hidden1..N`` (dense + activation) -> ``output`` (logits)."""
    layers: dict[str, nn.Module] = {"flatten": nn.Flatten()}
    width = math.prod(input_shape)
    for i, units in enumerate(cfg.hidden, start=1):
        block = OrderedDict(dense=nn.Linear(width, units), act=make_activation(cfg.activation))
        layers[f"hidden{i}"] = nn.Sequential(block)
        width = units
    layers["output"] = nn.Linear(width, n_outputs)
    return nn.Sequential(OrderedDict(layers))


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int


def describe_model(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerRow]:
    """One row per leaf module with its output shape and parameter count (Keras ``summary()``)."""
    rows: list[LayerRow] = []
    hooks = []
    for name, module in model.named_modules():
        if name and not list(module.children()):

            def hook(mod: nn.Module, _inp: object, out: object, name: str = name) -> None:
                shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else ()
                n = sum(p.numel() for p in mod.parameters(recurse=False))
                rows.append(LayerRow(name, type(mod).__name__, shape, n))

            hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        with torch.no_grad():
            model(torch.zeros((2, *input_shape), device=device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return rows
