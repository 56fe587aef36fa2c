"""A model's shape and size, worked out from its config before any tensor is allocated.

``check_conv_shapes`` names the convolution or pool that shrinks the feature map below one
pixel; ``check_memory`` refuses a model whose training would not fit in the memory available
(``train.memory_check: false`` lets it try anyway).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from hone.config import Config, ModelConfig
from hone.config.model import ConvLayer
from hone.errors import ConfigError
from hone.nn.activations import width_factor

__all__ = ["ModelSize", "available_memory", "check_conv_shapes", "check_memory", "model_size"]

# Optimizer state per parameter, in parameter-sized tensors.
_OPTIMIZER_STATE = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1,
                    "adam": 2, "adamw": 2}  # fmt: skip


@dataclass(frozen=True)
class ModelSize:
    params: int
    activations: int  # values per sample across the layers (forward pass)


def _pad(padding: str | int, kernel: int) -> int:
    if padding == "same":
        return kernel // 2
    return 0 if padding == "valid" else int(padding)


def _fits(n: int, kernel: int, stride: int, pad: int) -> bool:
    """Along one side of ``n`` pixels: at least one output, and every tap of the kernel
    reaches a real pixel at some output (a tap that only ever sees padding never learns)."""
    outputs = (n + 2 * pad - kernel) // stride + 1
    if outputs < 1:
        return False
    # tap j reads pixel i*stride + j - pad for outputs i = 0 .. outputs-1
    return all(any(0 <= i * stride + j - pad < n for i in range(outputs)) for j in range(kernel))


def _largest_stride(h: int, w: int, kernel: int, padding: str | int) -> int:
    pad = _pad(padding, kernel)
    for stride in range(min(h, w), 0, -1):
        if _fits(h, kernel, stride, pad) and _fits(w, kernel, stride, pad):
            return stride
    return 1


def _check_conv(i: int, conv: ConvLayer, h: int, w: int) -> None:
    """Refuse a kernel or stride larger than the feature map the layer receives (or a
    stride so large that part of the kernel only ever sees padding)."""
    where = f"model.conv[{i}] (layer conv{i + 1}) receives a {h}x{w} feature map"
    side = min(h, w)
    pad = _pad(conv.padding, conv.kernel)
    fits = _fits(h, conv.kernel, conv.stride, pad) and _fits(w, conv.kernel, conv.stride, pad)
    if conv.kernel > side and not fits:
        raise ConfigError(
            f"{where}, smaller than its {conv.kernel}x{conv.kernel} kernel: most of the "
            "kernel would only ever see padding and never learn. The largest kernel that "
            f"fits is {side} (kernel: {side}); or use fewer pools or strided layers before it"
        )
    if conv.stride > side or not fits:
        largest = _largest_stride(h, w, conv.kernel, conv.padding)
        raise ConfigError(
            f"{where}, and its stride {conv.stride} is too large for it (with its "
            f"{conv.kernel}x{conv.kernel} kernel it would read one position and skip the rest, "
            f"or part of the kernel would only see padding). The largest stride that fits is "
            f"{largest} (stride: {largest}); or use fewer pools or strided layers before it"
        )


def check_conv_shapes(cfg: ModelConfig, input_shape: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(channels, height, width) after each conv block, or a ConfigError naming the layer,
    the feature map it receives and what fits it."""
    channels, h, w = input_shape
    shapes = []
    for i, conv in enumerate(cfg.conv):
        _check_conv(i, conv, h, w)
        pad = _pad(conv.padding, conv.kernel)
        h = (h + 2 * pad - conv.kernel) // conv.stride + 1
        w = (w + 2 * pad - conv.kernel) // conv.stride + 1
        channels = conv.filters
        if conv.pool != "none":
            if h < 2 or w < 2:
                raise ConfigError(
                    f"model.conv[{i}].pool: the feature map is already {h}x{w}, so a 2x2 "
                    f"{conv.pool} pool would leave nothing; remove this pool (pool: none)"
                )
            h, w = h // 2, w // 2
        shapes.append((channels, h, w))
    return shapes


def model_size(cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int) -> ModelSize:
    factor = width_factor(cfg.activation, cfg.pieces)
    params, acts = 0, 0
    if cfg.kind == "cnn" and len(input_shape) == 3:
        channels = input_shape[0]
        shapes = check_conv_shapes(cfg, input_shape)
        for conv, (c, h, w) in zip(cfg.conv, shapes, strict=True):
            params += (channels * conv.kernel**2 + 1) * conv.filters * factor
            acts += c * factor * h * w * 4  # conv, norm, activation, pool (roughly)
            channels = c
        c, h, w = shapes[-1]
        width = c * h * w
    else:
        width = math.prod(input_shape)
    for units in cfg.hidden:
        params += (width + 1) * units * factor + (2 * units if cfg.norm != "none" else 0)
        acts += units * factor * 4
        width = units
    params += (width + 1) * n_outputs
    return ModelSize(params, acts + n_outputs)


def available_memory(device: torch.device) -> int | None:
    """Bytes free for training on ``device``, or None where it cannot be told."""
    if device.type == "cuda":
        try:
            free, _total = torch.cuda.mem_get_info(device)
            return int(free)
        except (RuntimeError, AssertionError):
            return None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"


def check_memory(
    cfg: Config, input_shape: tuple[int, ...], n_outputs: int, batch: int, device: torch.device
) -> ModelSize:
    """Refuse a model that cannot train in the memory this machine has left."""
    size = model_size(cfg.model, input_shape, n_outputs)
    if not cfg.train.memory_check:
        return size
    members = cfg.train.ensemble.members if cfg.train.ensemble else 1
    copies = 2 + _OPTIMIZER_STATE.get(cfg.train.optimizer.name, 2)  # weights, grads, state
    if cfg.train.early_stopping is not None:
        copies += 1  # the best weights kept aside
    need = 4 * (size.params * copies + 3 * batch * size.activations)
    free = available_memory(device)
    if free is not None and need * (1 if members == 1 else 2) > free:
        raise ConfigError(
            f"model: {size.params:,} parameters need about {_human(need)} to train at batch "
            f"{batch}, and {device.type} has {_human(free)} free. Make the model smaller "
            "(model.hidden, model.conv filters) or the batch smaller; or set "
            "train.memory_check: false to try anyway"
        )
    return size
