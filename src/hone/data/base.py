"""The in-memory dataset types every source produces and the engine consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["DataBundle", "RawData", "Split"]


@dataclass
class RawData:
    """What a source returns: features, integer labels and class names (numpy, host memory).

    ``test`` is set by sources with an official test set (MNIST); then ``split`` only divides
    ``x``/``y`` into train and val.
    """

    x: np.ndarray
    y: np.ndarray
    classes: list[str]
    test: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class Split:
    """One split as tensors on the training device: ``x`` float32 (N, ...), ``y`` int64 (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device: torch.device) -> Split:
        return Split(self.x.to(device), self.y.to(device))


@dataclass
class DataBundle:
    """Train/val/test splits plus what a model and a report need to know about them."""

    train: Split
    val: Split | None
    test: Split
    classes: list[str]
    input_shape: tuple[int, ...]  # per-sample shape, e.g. (2,) or (1, 28, 28)
    preprocess: dict[str, Any] = field(default_factory=dict)  # fitted scaler state

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def to(self, device: torch.device) -> DataBundle:
        return DataBundle(
            self.train.to(device),
            self.val.to(device) if self.val is not None else None,
            self.test.to(device),
            self.classes,
            self.input_shape,
            self.preprocess,
        )
