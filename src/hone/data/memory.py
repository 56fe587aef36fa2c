"""Data given from Python: ``hone.run(config, data=(x, y))`` or ``data=dataset``.

Arrays (NumPy or torch) are taken as they are; a ``torch.utils.data.Dataset`` is read once,
item by item, into one tensor per field, so training slices tensors as for every other source
(no per-sample loading in the loop). Labels become class indices exactly as NPZ labels do.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch

from hone.data.base import RawData
from hone.data.tabular import encode_targets
from hone.errors import DataError

__all__ = ["SOURCE", "fingerprint", "from_python"]

SOURCE = "data= (given from Python)"


def _array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{SOURCE}: {name} is not an array ({exc})") from None


def _from_dataset(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    n = len(dataset)
    if n == 0:
        raise DataError(f"{SOURCE}: the dataset is empty")
    xs, ys = [], []
    for i in range(n):
        item = dataset[i]
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise DataError(f"{SOURCE}: dataset[{i}] must be an (x, y) pair, got {type(item)}")
        xs.append(_array(item[0], f"dataset[{i}][0]"))
        ys.append(_array(item[1], f"dataset[{i}][1]"))
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise DataError(f"{SOURCE}: dataset items have different shapes {sorted(shapes)[:3]}")
    return np.stack(xs), np.stack(ys).reshape(n, -1).squeeze(1) if ys[0].size == 1 else np.stack(ys)


def from_python(data: Any, task: str) -> RawData:
    """``(x, y)`` arrays or a map-style torch ``Dataset`` of ``(x, y)`` items; ``task: auto``
    decides classification or regression from ``y``."""
    if isinstance(data, tuple | list) and len(data) == 2:
        x, y = _array(data[0], "x"), _array(data[1], "y")
    elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        x, y = _from_dataset(data)
    else:
        raise DataError(
            f"{SOURCE}: give (x, y) arrays or a torch Dataset of (x, y) items, got {type(data)}"
        )
    if x.ndim < 2 or len(x) != len(y):
        raise DataError(
            f"{SOURCE}: x has shape {x.shape} and y {y.shape}; give one row of x per label"
        )
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{SOURCE}: x must hold real numbers, got {x.dtype}")
    labels, classes, reason = encode_targets(y, SOURCE, task, "y")
    return RawData(np.asarray(x, dtype=np.float32), labels, classes, task_reason=reason)


def fingerprint(raw: RawData) -> str:
    """A short hash of the features and labels, so the record says which data this was."""
    digest = hashlib.sha256(np.ascontiguousarray(raw.x).tobytes())
    digest.update(np.ascontiguousarray(raw.y).tobytes())
    return digest.hexdigest()[:16]
