"""Classification and regression metrics as pure functions over tensors.

Each follows scikit-learn's definition, including its edge cases: a class never predicted has
precision 0, a class absent from ``y_true`` has recall 0 (``zero_division=0``), balanced
accuracy averages recall over the classes present, ROC-AUC is undefined (NaN) for a class with
no positives or no negatives. Computations run in float64 so results agree to 1e-9.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = [
    "classification_report",
    "confusion_matrix",
    "log_loss",
    "per_class_scores",
    "regression_report",
    "roc_auc",
    "top_k_accuracy",
]


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``cm[i, j]`` counts samples of true class i predicted as j (int64)."""
    idx = y_true.long() * n_classes + y_pred.long()
    return torch.bincount(idx, minlength=n_classes * n_classes).view(n_classes, n_classes).cpu()


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / den.clamp_min(1), torch.zeros_like(num))


def per_class_scores(cm: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-class precision, recall, F1, specificity and support from a confusion matrix."""
    cm = cm.double()
    tp = cm.diag()
    support = cm.sum(1)
    predicted = cm.sum(0)
    total = cm.sum()
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * tp, support + predicted)
    tn = total - support - predicted + tp
    specificity = _safe_div(tn, tn + (predicted - tp))
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "specificity": specificity,
        "support": support,
    }


def _averages(scores: dict[str, torch.Tensor], cm: torch.Tensor) -> dict[str, dict[str, float]]:
    support = scores["support"]
    total = float(support.sum())
    out: dict[str, dict[str, float]] = {}
    for name in ("precision", "recall", "f1"):
        values = scores[name]
        out[name] = {
            "macro": float(values.mean()),
            "weighted": float((values * support).sum() / total) if total else 0.0,
        }
    # Micro averages pool every decision: with one label per sample, every wrong prediction
    # is one false positive and one false negative, so precision = recall = F1 = sum(tp) / n.
    micro = float(cm.diag().sum().double() / cm.sum().double()) if total else 0.0
    for name in ("precision", "recall", "f1"):
        out[name]["micro"] = micro
    return out


def top_k_accuracy(y_true: torch.Tensor, scores: torch.Tensor, k: int) -> float:
    """Share of samples whose true class is among the ``k`` highest scores.

    Ties at the k-th score count as hits, as in scikit-learn.
    """
    scores = scores.double()
    k = min(k, scores.shape[1])
    true_score = scores.gather(1, y_true.long()[:, None])
    higher = (scores > true_score).sum(1)
    return float((higher < k).double().mean())


def _binary_auc(y: torch.Tensor, score: torch.Tensor) -> float:
    """Mann-Whitney U with average ranks for ties (equals the area under the ROC curve)."""
    pos = int(y.sum())
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return math.nan
    order = torch.argsort(score, stable=True)
    positions = torch.arange(1, len(score) + 1, dtype=torch.float64)
    # Tied scores share the average of the ranks they occupy.
    _, run, counts = torch.unique_consecutive(score[order], return_inverse=True, return_counts=True)
    run_sums = torch.zeros(len(counts), dtype=torch.float64).index_add_(0, run, positions)
    ranks = torch.empty(len(score), dtype=torch.float64)
    ranks[order] = (run_sums / counts.double())[run]
    rank_sum = float(ranks[y.bool()].sum())
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def roc_auc(y_true: torch.Tensor, probs: torch.Tensor) -> dict[str, Any]:
    """Binary AUC on the positive class's score, or one-vs-rest per class with its macro mean
    (over classes where it is defined)."""
    y_true, probs = y_true.cpu().long(), probs.detach().cpu().double()
    n = probs.shape[1]
    if n == 2:
        value = _binary_auc(y_true == 1, probs[:, 1])
        return {"auc": value, "per_class": [value, value]}
    per_class = [_binary_auc(y_true == c, probs[:, c]) for c in range(n)]
    defined = [v for v in per_class if not math.isnan(v)]
    return {"auc": sum(defined) / len(defined) if defined else math.nan, "per_class": per_class}


def log_loss(y_true: torch.Tensor, probs: torch.Tensor) -> float:
    """Mean negative log-probability of the true class, probabilities clipped to
    [eps, 1 - eps] (float64 eps) and renormalised, as scikit-learn does."""
    p = probs.detach().cpu().double()
    eps = torch.finfo(torch.float64).eps
    p = p.clamp(eps, 1 - eps)
    p = p / p.sum(1, keepdim=True)
    return float(-p.gather(1, y_true.cpu().long()[:, None]).log().mean())


def classification_report(
    y_true: torch.Tensor, probs: torch.Tensor, classes: list[str], top_k: int = 5
) -> dict[str, Any]:
    """Every classification metric for one split, JSON-ready."""
    y_true = y_true.cpu().long()
    probs = probs.detach().cpu()
    n = len(classes)
    y_pred = probs.argmax(1)
    cm = confusion_matrix(y_true, y_pred, n)
    scores = per_class_scores(cm)
    present = scores["support"] > 0
    recall_present = scores["recall"][present]
    report: dict[str, Any] = {
        "n": len(y_true),
        "accuracy": float((y_pred == y_true).double().mean()),
        f"top_{min(top_k, n)}_accuracy": top_k_accuracy(y_true, probs, top_k),
        "balanced_accuracy": float(recall_present.mean()) if len(recall_present) else 0.0,
        "log_loss": log_loss(y_true, probs),
        "roc_auc": roc_auc(y_true, probs)["auc"],
        "confusion_matrix": cm.tolist(),
        "classes": list(classes),
        "per_class": {
            cls: {k: float(v[i]) for k, v in scores.items()} for i, cls in enumerate(classes)
        },
        "average": _averages(scores, cm),
    }
    return report


def regression_report(y_true: torch.Tensor, pred: torch.Tensor) -> dict[str, Any]:
    """MSE, RMSE, MAE and R², each averaged uniformly over output columns as scikit-learn's
    ``multioutput="uniform_average"`` does (RMSE: the mean of each column's RMSE). R² of a
    constant target is 1 when predicted exactly, else 0; of one row, NaN (undefined)."""
    y = y_true.detach().cpu().double().reshape(len(y_true), -1)
    p = pred.detach().cpu().double().reshape(len(pred), -1)
    err = p - y
    mse_cols = err.pow(2).mean(0)
    ss_res = err.pow(2).sum(0)
    ss_tot = (y - y.mean(0)).pow(2).sum(0)
    r2_cols = torch.where(
        ss_tot > 0,
        1 - ss_res / ss_tot.clamp_min(1e-300),
        torch.where(ss_res > 0, torch.zeros_like(ss_res), torch.ones_like(ss_res)),
    )
    return {
        "n": len(y),
        "mse": float(mse_cols.mean()),
        "rmse": float(mse_cols.sqrt().mean()),
        "mae": float(err.abs().mean()),
        "r2": float(r2_cols.mean()) if len(y) > 1 else math.nan,
    }
