"""The in-memory dataset types every source produces and the engine consumes."""

from __future__ import annotations

import copy
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
    # ``data.task: auto`` on a file or Python data: why the task is what it is (a line to show).
    task_reason: str | None = None
    dropped: int = 0  # CSV rows left out for a missing value (data.missing: drop)

    @property
    def task(self) -> str:
        return "classification" if self.classes else "regression"


@dataclass
class Split:
    """One split as tensors on the device: ``x`` float32 (N, ...); ``y`` int64 (N,) class
    indices, or float32 (N, k) regression targets."""

    x: torch.Tensor
    y: torch.Tensor
    _moments: dict[str, list[float]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def moments(self) -> dict[str, list[float]]:
        """Mean and std of the first 64 features (or channels), and of regression targets,
        from up to 10,000 rows;
        computed once, since every run in a process that shares the split records them."""
        if self._moments is None:
            x = self.x.detach()[:10000].float().cpu()
            # (features or channels, values), contiguous: a strided reduction is 10x slower
            if x.dim() == 4:
                flat = x.transpose(0, 1)[:64].reshape(min(64, x.shape[1]), -1)
            else:
                flat = x.reshape(len(x), -1)[:, :64].T.contiguous()
            self._moments = {"mean": flat.mean(1).tolist(), "std": flat.std(1).tolist()}
            if self.y.is_floating_point():  # regression targets: their shift counts too
                y = self.y.detach()[:10000].float().cpu().reshape(len(x), -1)
                self._moments.update(y_mean=y.mean(0).tolist(), y_std=y.std(0).tolist())
        return copy.deepcopy(self._moments)

    def to(self, device: torch.device) -> Split:
        if self.x.device == device and self.y.device == device:
            return self  # the same tensors: keep what was computed from them
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
            out[name] = {"n": len(split), **split.moments()}
            if self.classes:
                counts = torch.bincount(split.y.cpu(), minlength=len(self.classes))
                out[name]["class_counts"] = counts.tolist()
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
