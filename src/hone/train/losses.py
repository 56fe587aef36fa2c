"""Losses by config name, each computed from the model's raw outputs (logits).

A loss knows the output activation so it can stay numerically stable: cross-entropy on
softmax outputs and BCE on sigmoid outputs are computed from the logits, never from
probabilities that may have rounded to 0 or 1.

Regression on standardised targets (``data.preprocess.target_scale: standard``): the model's
outputs are in the target's units (its last layer maps back, ``hone.nn.target``), and the loss
has two faces. Its gradient is the loss of the standardised residual ``(out - y) / std``, so the
learning rate means the same whatever the target's units; its value is the same loss in the
target's units (MSE in units², MAE in units; Huber with ``huber_delta`` standard deviations,
which in units is ``delta * std``). So ``train_loss``, ``val_loss`` and ``test_loss`` mean one
thing, the loss on the targets as given, with or without scaling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from hone.config.names import CLASSIFICATION_LOSSES, REGRESSION_LOSSES
from hone.errors import ConfigError
from hone.registry import Registry

__all__ = [
    "LOSSES",
    "LossFn",
    "LossSpec",
    "make_loss",
    "member_means",
    "output_transform",
    "per_sample_loss",
    "resolve_loss",
    "resolve_output_activation",
]


class LossFn(Protocol):
    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class LossSpec:
    name: str
    output_activation: str  # resolved: softmax | sigmoid | none
    n_outputs: int
    task: str = "classification"
    label_smoothing: float = 0.0
    huber_delta: float = 1.0
    class_weights: tuple[float, ...] | None = None  # one per class
    target_scale: tuple[float, ...] | None = None  # regression: std per output column


def _weighted_mean(
    per_sample: torch.Tensor, target: torch.Tensor, w: torch.Tensor | None
) -> torch.Tensor:
    """Mean over samples, weighted by their class's weight (torch's convention for CE)."""
    if w is None:
        return per_sample.mean()
    sw = w[target]
    return (per_sample * sw).sum() / sw.sum()


def class_weights(spec: LossSpec, like: torch.Tensor) -> torch.Tensor | None:
    if spec.class_weights is None:
        return None
    return torch.tensor(spec.class_weights, dtype=like.dtype, device=like.device)


LOSSES: Registry[Callable[[LossSpec], LossFn]] = Registry("loss", "train.loss")


# The output activation each loss implies when ``model.output_activation: auto``.
_AUTO_OUTPUT = {"cross_entropy": "softmax", "bce": "sigmoid", "mse": "sigmoid"}
# ``train.loss: auto`` by task.
AUTO_LOSS = {"classification": "cross_entropy", "regression": "mse"}


def resolve_loss(loss: str, task: str) -> str:
    """``train.loss`` with ``auto`` made concrete: cross_entropy, or mse for regression."""
    return AUTO_LOSS[task] if loss == "auto" else loss


def resolve_output_activation(requested: str, loss: str, task: str = "classification") -> str:
    if requested != "auto":
        return requested
    loss = resolve_loss(loss, task)
    return _AUTO_OUTPUT.get(loss, "none") if task == "classification" else "none"


def output_transform(logits: torch.Tensor, activation: str) -> torch.Tensor:
    """Map logits to the model's outputs (probabilities for softmax/sigmoid)."""
    if activation == "softmax":
        return torch.softmax(logits, dim=-1)
    if activation == "sigmoid":
        return torch.sigmoid(logits)
    return logits


def make_loss(spec: LossSpec) -> LossFn:
    factory = LOSSES.get(spec.name)
    allowed = CLASSIFICATION_LOSSES if spec.task == "classification" else REGRESSION_LOSSES
    if spec.name not in allowed:
        raise ConfigError(
            f"train.loss: '{spec.name}' does not fit a {spec.task} task; use one of: "
            + ", ".join(allowed)
        )
    if spec.name == "bce" and spec.output_activation == "none":
        raise ConfigError(
            "model.output_activation: none gives raw outputs, but train.loss: bce needs "
            "probabilities; use output_activation sigmoid (or auto), or loss cross_entropy"
        )
    if spec.label_smoothing and spec.task != "classification":
        raise ConfigError(
            f"train.label_smoothing: {spec.label_smoothing:g} smooths class labels, and this "
            "is a regression task; remove train.label_smoothing (or set it to 0)"
        )
    return factory(spec)


def _targets(spec: LossSpec, target: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """One-hot targets, smoothed as in label smoothing: (1 - e) on the class, e / K spread
    over all K classes (torch's and Keras' definition)."""
    onehot = F.one_hot(target, spec.n_outputs).to(dtype)
    eps = spec.label_smoothing
    return onehot * (1 - eps) + eps / spec.n_outputs if eps else onehot


@LOSSES.register("cross_entropy")
def _cross_entropy(spec: LossSpec) -> LossFn:
    smoothing = spec.label_smoothing
    if spec.output_activation == "sigmoid":
        # Categorical CE over sigmoid outputs normalised to sum to one (Keras' behaviour).
        def sigmoid_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            logp = F.logsigmoid(logits)
            logq = logp - torch.logsumexp(logp, dim=-1, keepdim=True)
            if not smoothing:
                return F.nll_loss(logq, target, weight=class_weights(spec, logits))
            per_sample = -(_targets(spec, target, logits.dtype) * logq).sum(1)
            return _weighted_mean(per_sample, target, class_weights(spec, logits))

        return sigmoid_ce

    def ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        weight = class_weights(spec, logits)
        return F.cross_entropy(logits, target, weight=weight, label_smoothing=smoothing)

    return ce


@LOSSES.register("bce")
def _bce(spec: LossSpec) -> LossFn:
    if spec.output_activation == "softmax":

        def bce_softmax(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            onehot = _targets(spec, target, logits.dtype)
            logp = F.log_softmax(logits, dim=-1)
            log1mp = torch.log1p(-logp.exp().clamp(max=1 - 1e-7))
            per_sample = -(onehot * logp + (1 - onehot) * log1mp).mean(1)
            return _weighted_mean(per_sample, target, class_weights(spec, logits))

        return bce_softmax

    def bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        onehot = _targets(spec, target, logits.dtype)
        weight = class_weights(spec, logits)
        if weight is None:
            return F.binary_cross_entropy_with_logits(logits, onehot)
        per_sample = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none").mean(1)
        return _weighted_mean(per_sample, target, weight)

    return bce


@LOSSES.register("mse")
def _mse(spec: LossSpec) -> LossFn:
    """One-hot targets for classification (the book's first classifier); raw for regression."""
    if spec.task == "regression":
        return _regression(spec)
    act = spec.output_activation

    def mse(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out, onehot = output_transform(logits, act), _targets(spec, target, logits.dtype)
        weight = class_weights(spec, logits)
        if weight is None:
            return F.mse_loss(out, onehot)
        return _weighted_mean((out - onehot).pow(2).mean(1), target, weight)

    return mse


@LOSSES.register("mae")
@LOSSES.register("huber")
def _regression(spec: LossSpec) -> LossFn:
    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return _regression_elements(spec, logits, target).mean()

    return loss


def _elements(spec: LossSpec, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if spec.name == "mae":
        return F.l1_loss(out, target, reduction="none")
    if spec.name == "huber":
        return F.huber_loss(out, target, reduction="none", delta=spec.huber_delta)
    return F.mse_loss(out, target, reduction="none")


def _regression_elements(
    spec: LossSpec, logits: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Each element's loss, (N, outputs). With standardised targets: the value in the target's
    units, the gradient of the standardised loss (see the module docstring)."""
    out = output_transform(logits, spec.output_activation)
    if spec.target_scale is None:
        return _elements(spec, out, target)
    std = torch.tensor(spec.target_scale, dtype=out.dtype, device=out.device)
    scaled = _elements(spec, out / std, target / std)
    in_units = scaled.detach() * (std if spec.name == "mae" else std * std)
    return scaled + (in_units - scaled.detach())


def per_sample_loss(spec: LossSpec) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
    """Each sample's loss, whose mean is ``make_loss(spec)``'s value (stacked seeds use it to
    get every member's mean from one call); ``None`` with class weights, whose weighted means
    do not split by sample this way."""
    if spec.class_weights is not None:
        return None
    return _each_sample(spec)


def member_means(spec: LossSpec) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
    """Stacked members' losses, (K,), from one call over their (K, B, ...) outputs and
    targets: each member's mean of its per-sample losses, weighted by each row's class weight
    where the loss has class weights (torch's convention, as ``make_loss`` weighs them).
    ``None`` for softmax cross-entropy with both class weights and label smoothing: torch
    weighs its smoothing term by every class's weight, which does not split by row."""
    softmax_ce = spec.name == "cross_entropy" and spec.output_activation != "sigmoid"
    if spec.class_weights is not None and softmax_ce and spec.label_smoothing:
        return None
    each = _each_sample(spec)

    def means(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        k, b = logits.shape[:2]
        losses = each(logits.flatten(0, 1), target.flatten(0, 1)).view(k, b)
        weight = class_weights(spec, logits)
        if weight is None:
            return losses.mean(1)
        rows = weight[target]
        return (losses * rows).sum(1) / rows.sum(1)

    return means


def _each_sample(spec: LossSpec) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Each sample's loss, without class weights."""
    act = spec.output_activation

    def rows(values: torch.Tensor) -> torch.Tensor:
        return values.reshape(len(values), -1).mean(1)

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if spec.task == "regression":
            return rows(_regression_elements(spec, logits, target))
        if spec.name == "cross_entropy" and act != "sigmoid":
            return F.cross_entropy(logits, target, reduction="none",
                                   label_smoothing=spec.label_smoothing)  # fmt: skip
        onehot = _targets(spec, target, logits.dtype)
        if spec.name == "cross_entropy":
            logp = F.logsigmoid(logits)
            return -(onehot * (logp - torch.logsumexp(logp, dim=-1, keepdim=True))).sum(1)
        if spec.name == "bce" and act == "softmax":
            logp = F.log_softmax(logits, dim=-1)
            log1mp = torch.log1p(-logp.exp().clamp(max=1 - 1e-7))
            return -(onehot * logp + (1 - onehot) * log1mp).mean(1)
        if spec.name == "bce":
            return F.binary_cross_entropy_with_logits(logits, onehot, reduction="none").mean(1)
        return (output_transform(logits, act) - onehot).pow(2).mean(1)  # mse

    return loss
