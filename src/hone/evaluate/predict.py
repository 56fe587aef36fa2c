"""Batched inference: logits for a whole split under ``torch.inference_mode``."""

from __future__ import annotations

import torch
from torch import nn

from hone.data.base import Split
from hone.train.losses import LossFn

__all__ = ["evaluate_split", "predict_logits"]

EVAL_BATCH = 8192


def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def evaluate_split(model: nn.Module, split: Split, loss_fn: LossFn) -> dict[str, float]:
    """Mean loss, plus accuracy for classification, over a split (eval mode: dropout off,
    BatchNorm running statistics)."""
    logits = predict_logits(model, split.x)
    with torch.inference_mode():
        out = {"loss": float(loss_fn(logits, split.y))}
        if not split.y.is_floating_point():
            out["accuracy"] = float((logits.argmax(dim=1) == split.y).float().mean())
    return out
