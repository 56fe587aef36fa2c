"""Build a model from ``model:`` config as named blocks, so reports and transfer can address
layers (``hidden1.dense``, ``conv2.norm``, ``output``)."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from hone.config import ModelConfig
from hone.errors import ConfigError
from hone.nn.activations import make_activation, width_factor
from hone.nn.init import initialize
from hone.nn.size import check_conv_shapes

__all__ = ["LayerRow", "build_model", "describe_model"]


def _norm(kind: str, features: int, image: bool) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(features) if image else nn.BatchNorm1d(features)
    # Layer norm over all of a sample's features; for feature maps, GroupNorm with one group.
    return nn.GroupNorm(1, features) if image else nn.LayerNorm(features)


def _block(
    cfg: ModelConfig, core: nn.Module, in_features: int, out_features: int, image: bool
) -> tuple[nn.Sequential, int]:
    """One hidden block in ``cfg``'s order; returns it and its output width."""
    factor = width_factor(cfg.activation, cfg.pieces)
    steps: OrderedDict[str, nn.Module] = OrderedDict()
    features = in_features
    for step in cfg.resolved_block_order():
        if step == "dense":
            steps["conv" if image else "dense"] = core
            features = out_features * factor
        elif step == "norm" and cfg.norm != "none":
            steps["norm"] = _norm(cfg.norm, features, image)
        elif step == "activation":
            steps["act"] = make_activation(
                cfg.activation, cfg.negative_slope, cfg.alpha, cfg.pieces
            )
            features //= factor
        elif step == "dropout" and cfg.dropout > 0:
            steps["dropout"] = nn.Dropout(cfg.dropout)
    return nn.Sequential(steps), features


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int) -> nn.Sequential:
    """``[conv1..K ->] flatten -> hidden1..N -> output`` (logits), initialised per ``cfg.init``."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    factor = width_factor(cfg.activation, cfg.pieces)
    if cfg.kind == "cnn":
        if len(input_shape) != 3:
            raise ConfigError(
                f"model.kind: cnn needs image data (C, H, W); this dataset's samples have shape "
                f"{input_shape}. Use kind: mlp, or an image dataset (digits, mnist, ...)"
            )

        check_conv_shapes(cfg, input_shape)  # names the layer that leaves no pixels
        channels = input_shape[0]
        for i, conv in enumerate(cfg.conv, start=1):
            pad = (
                conv.kernel // 2
                if conv.padding == "same"
                else (0 if conv.padding == "valid" else conv.padding)
            )
            core = nn.Conv2d(channels, conv.filters * factor, conv.kernel, conv.stride, pad)
            block, channels = _block(cfg, core, channels, conv.filters, image=True)
            if conv.pool != "none":
                block.add_module(
                    "pool", nn.MaxPool2d(2) if conv.pool == "max2" else nn.AvgPool2d(2)
                )
            layers[f"conv{i}"] = block
    layers["flatten"] = nn.Flatten()
    width = _flat_width(layers, input_shape)
    for i, units in enumerate(cfg.hidden, start=1):
        layers[f"hidden{i}"], width = _block(
            cfg, nn.Linear(width, units * factor), width, units, image=False
        )
    layers["output"] = nn.Linear(width, n_outputs)
    model = nn.Sequential(layers)
    initialize(model, cfg.init, cfg.bias_init, cfg.activation, cfg.negative_slope, cfg.init_value)
    return model


def _flat_width(layers: OrderedDict[str, nn.Module], input_shape: tuple[int, ...]) -> int:
    if len(layers) == 1:  # flatten only
        return math.prod(input_shape)
    probe = nn.Sequential(layers).eval()
    with torch.no_grad():
        out = probe(torch.zeros(1, *input_shape))
    if out.shape[1] == 0:
        raise ConfigError("model.conv: the feature maps shrink to nothing; use fewer pools")
    return int(out.shape[1])


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    trainable: bool


def describe_model(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerRow]:
    """One row per leaf module with its output shape and parameter count (Keras ``summary()``)."""
    rows: list[LayerRow] = []
    hooks = []
    for name, module in model.named_modules():
        if name and not list(module.children()):

            def hook(mod: nn.Module, _inp: object, out: object, name: str = name) -> None:
                shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else ()
                params = list(mod.parameters(recurse=False))
                trainable = all(p.requires_grad for p in params)
                rows.append(
                    LayerRow(
                        name, type(mod).__name__, shape, sum(p.numel() for p in params), trainable
                    )
                )

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
