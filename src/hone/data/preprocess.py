"""Feature scaling fitted on the training split only and applied to every split."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["apply_scaler", "fit_scaler", "fit_target_scaler"]


def _axes(x: np.ndarray) -> tuple[int, ...]:
    # Images (N, C, H, W) are scaled per channel; tables per feature.
    return (0, 2, 3) if x.ndim == 4 else (0,)


def fit_scaler(kind: str, x_train: np.ndarray) -> dict[str, Any]:
    """Return the scaler state: ``{"kind", "shift", "scale"}`` as lists (JSON-friendly)."""
    if kind == "none":
        return {"kind": "none"}
    axes = _axes(x_train)
    if kind == "standard":
        shift = x_train.mean(axis=axes, dtype=np.float64)
        scale = x_train.std(axis=axes, dtype=np.float64)
    elif kind == "minmax":
        shift = x_train.min(axis=axes).astype(np.float64)
        scale = x_train.max(axis=axes).astype(np.float64) - shift
    else:
        raise ValueError(f"unknown scaler {kind!r}")
    scale = np.where(scale > 1e-12, scale, 1.0)  # constant features stay constant, not NaN
    return {"kind": kind, "axes": list(axes), "shift": shift.tolist(), "scale": scale.tolist()}


def apply_scaler(state: dict[str, Any], x: np.ndarray) -> np.ndarray:
    if state["kind"] == "none":
        return x
    shape = [1] * x.ndim
    shape[1] = -1
    shift = np.asarray(state["shift"], dtype=np.float32).reshape(shape)
    scale = np.asarray(state["scale"], dtype=np.float32).reshape(shape)
    return ((x - shift) / scale).astype(np.float32)


def fit_target_scaler(y_train: np.ndarray) -> dict[str, Any]:
    """Regression targets' mean and standard deviation per output column, from the training
    split: the model learns ``(y - shift) / scale`` and its last layer maps back to ``y``."""
    y = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
    shift = y.mean(axis=0)
    scale = y.std(axis=0)
    scale = np.where(scale > 1e-12 * np.maximum(np.abs(shift), 1.0), scale, 1.0)
    return {"kind": "standard", "shift": shift.tolist(), "scale": scale.tolist()}
