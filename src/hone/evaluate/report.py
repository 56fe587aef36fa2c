"""Full evaluation of a trained model on each split: the metrics of ``metrics.py``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hone.data.base import DataBundle, Split
from hone.evaluate.metrics import classification_report, regression_report
from hone.evaluate.predict import predict_logits
from hone.train.losses import output_transform

__all__ = ["REGRESSION_HEADLINE", "SPLITS", "balanced_accuracy", "evaluate_model",
           "evaluate_splits", "predict_outputs"]  # fmt: skip

SPLITS = ("train", "val", "test")  # every split a run can have, in the order reported
# A regression's headline metrics beside its loss (``test_r2``, ...), in the target's units.
REGRESSION_HEADLINE = ("r2", "mae", "rmse")


def balanced_accuracy(predicted: torch.Tensor, y: torch.Tensor) -> float:
    """The mean recall over the classes present in ``y`` (scikit-learn's
    ``balanced_accuracy_score``): the number that accuracy hides on imbalanced classes."""
    n = int(max(int(y.max()), int(predicted.max())) + 1) if len(y) else 0
    total = torch.bincount(y, minlength=n)
    hits = torch.bincount(y[predicted == y], minlength=n)
    present = total > 0
    return float((hits[present].double() / total[present].double()).mean()) if n else 0.0


def _as_outputs(logits: torch.Tensor, output_activation: str) -> torch.Tensor:
    """Class probabilities (rows summing to 1) for classification, raw outputs for regression."""
    out = output_transform(logits, output_activation)
    if output_activation == "sigmoid":  # independent sigmoids: normalise to a distribution
        out = out / out.sum(1, keepdim=True).clamp_min(1e-12)
    return out


def predict_outputs(model: nn.Module, x: torch.Tensor, output_activation: str) -> torch.Tensor:
    return _as_outputs(predict_logits(model, x), output_activation)


def evaluate_splits(
    model: nn.Module,
    data: DataBundle,
    loss_fn: Any,
    output_activation: str,
    splits: tuple[str, ...] = SPLITS,
    reports_too: bool = True,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Headline metrics (``test_loss``, ``test_accuracy``, or for regression ``test_r2``,
    ``test_mae``, ``test_rmse``; no loss without ``loss_fn``) and (unless not ``reports_too``)
    full reports, from one forward pass per split."""
    metrics: dict[str, float] = {}
    reports: dict[str, Any] = {}
    for name in splits:
        split: Split | None = getattr(data, name)
        if split is None or len(split) == 0:
            continue
        logits = predict_logits(model, split.x)
        with torch.inference_mode():
            if loss_fn is not None:
                metrics[f"{name}_loss"] = float(loss_fn(logits, split.y))
            outputs = _as_outputs(logits, output_activation)
        if data.task == "classification":
            predicted = logits.argmax(1)
            metrics[f"{name}_accuracy"] = float((predicted == split.y).double().mean())
            metrics[f"{name}_balanced_accuracy"] = balanced_accuracy(predicted, split.y)
            if reports_too:
                reports[name] = classification_report(split.y, outputs, data.classes)
            continue
        report = regression_report(split.y, outputs)
        metrics.update({f"{name}_{k}": report[k] for k in REGRESSION_HEADLINE})
        if reports_too:
            reports[name] = report
    return metrics, reports


def evaluate_model(
    model: nn.Module, data: DataBundle, output_activation: str, splits: tuple[str, ...]
) -> dict[str, Any]:
    """``{split: report}`` for the named splits that exist (``test`` only when asked)."""
    return evaluate_splits(model, data, None, output_activation, splits)[1]
