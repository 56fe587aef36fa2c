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
    y: np.ndarray  # int64 class indices, or float32 targets for regression
    classes: list[str]  # empty for regression
    test: tuple[np.ndarray, np.ndarray] | None = None
    # CSV only: the feature columns in order, each {"name", "categories"} (None when numeric;
    # else the one-hot categories), so new rows can be encoded exactly as these were.
    columns: list[dict[str, Any]] | None = None

    @property
    def task(self) -> str:
        return "classification" if self.classes else "regression"


@dataclass
class Split:
    """One split as tensors on the device: ``x`` float32 (N, ...); ``y`` int64 (N,) class
    indices, or float32 (N, k) regression targets."""

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
    report: dict[str, Any] = field(default_factory=dict)  # what loading did (cache, skips)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def task(self) -> str:
        return "classification" if self.classes else "regression"

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.classes else int(self.train.y.shape[1])

    def stats(self) -> dict[str, Any]:
        """Per-split label counts and feature (or channel) means and stds, for diagnosis."""
        out: dict[str, Any] = {}
        for name in ("train", "val", "test"):
            split: Split | None = getattr(self, name)
            if split is None or len(split) == 0:
                continue
            x = split.x.detach()[:10000].float().cpu()  # a sample is plenty for a mean
            flat = (
                x.transpose(0, 1).reshape(x.shape[1], -1)
                if x.dim() == 4
                else x.reshape(len(x), -1).T
            )
            entry: dict[str, Any] = {
                "n": len(split),
                "mean": flat.mean(1)[:64].tolist(),
                "std": flat.std(1)[:64].tolist(),
            }
            if self.classes:
                counts = torch.bincount(split.y.cpu(), minlength=len(self.classes))
                entry["class_counts"] = counts.tolist()
            out[name] = entry
        return out

    def to(self, device: torch.device) -> DataBundle:
        return DataBundle(
            self.train.to(device),
            self.val.to(device) if self.val is not None else None,
            self.test.to(device),
            self.classes,
            self.input_shape,
            self.preprocess,
            self.report,
        )
