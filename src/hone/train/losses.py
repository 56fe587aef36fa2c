"""Losses by config name, each computed from the model's raw outputs (logits).

A loss knows the output activation so it can stay numerically stable: cross-entropy on
softmax outputs and BCE on sigmoid outputs are computed from the logits, never from
probabilities that may have rounded to 0 or 1.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

from hone.registry import Registry

__all__ = ["LOSSES", "LossFn", "make_loss", "output_transform", "resolve_output_activation"]


class LossFn(Protocol):
    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...


class _LossFactory(Protocol):
    def __call__(self, output_activation: str, n_classes: int) -> LossFn: ...


LOSSES: Registry[_LossFactory] = Registry("loss", "train.loss")

# The output activation each loss implies when ``model.output_activation: auto``.
_AUTO_OUTPUT = {"cross_entropy": "softmax", "bce": "sigmoid", "mse": "sigmoid"}


def resolve_output_activation(requested: str, loss: str) -> str:
    return _AUTO_OUTPUT.get(loss, "none") if requested == "auto" else requested


def output_transform(logits: torch.Tensor, activation: str) -> torch.Tensor:
    """Map logits to the model's outputs (probabilities for softmax/sigmoid)."""
    if activation == "softmax":
        return torch.softmax(logits, dim=-1)
    if activation == "sigmoid":
        return torch.sigmoid(logits)
    return logits


def _one_hot(target: torch.Tensor, n_classes: int, dtype: torch.dtype) -> torch.Tensor:
    return F.one_hot(target, n_classes).to(dtype)


@LOSSES.register("cross_entropy")
def _cross_entropy(output_activation: str, n_classes: int) -> LossFn:
    if output_activation == "sigmoid":
        # Categorical CE over sigmoid outputs normalised to sum to one (Keras' behaviour).
        def sigmoid_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            logp = F.logsigmoid(logits)
            log_norm = torch.logsumexp(logp, dim=-1, keepdim=True)
            return F.nll_loss(logp - log_norm, target)

        return sigmoid_ce

    def ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target)

    return ce


@LOSSES.register("bce")
def _bce(output_activation: str, n_classes: int) -> LossFn:
    def bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        onehot = _one_hot(target, n_classes, logits.dtype)
        if output_activation == "softmax":
            logp = F.log_softmax(logits, dim=-1)
            log1mp = torch.log1p(-logp.exp().clamp(max=1 - 1e-7))
            return -(onehot * logp + (1 - onehot) * log1mp).mean()
        return F.binary_cross_entropy_with_logits(logits, onehot)

    return bce


@LOSSES.register("mse")
def _mse(output_activation: str, n_classes: int) -> LossFn:
    def mse(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out = output_transform(logits, output_activation)
        return F.mse_loss(out, _one_hot(target, n_classes, logits.dtype))

    return mse


def make_loss(name: str, output_activation: str, n_classes: int) -> LossFn:
    return LOSSES.get(name)(output_activation, n_classes)
