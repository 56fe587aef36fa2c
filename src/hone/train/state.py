"""``TrainState``: everything a callback may read or change, passed to every hook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["TrainState"]


@dataclass
class TrainState:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    epochs: int  # planned number of epochs
    steps_per_epoch: int
    epoch: int = 0  # current epoch, 1-based
    batch: int = 0  # batch index within the epoch
    step: int = 0  # optimizer steps taken so far
    batch_loss: torch.Tensor | None = None  # last batch's loss, on the device (no host sync)
    logs: dict[str, float] = field(default_factory=dict)  # this epoch's metrics
    history: dict[str, list[float]] = field(default_factory=dict)
    status: str = "running"  # -> completed | interrupted | diverged
    stop_training: bool = False  # set by a callback to end after this epoch
    stop_reason: str = ""
    interrupt_requested: bool = False  # set by Ctrl-C: stop after the current batch
    diverged_at: tuple[int, int] | None = None  # (epoch, step within epoch), 1-based
    info: dict[str, Any] = field(default_factory=dict)  # callbacks' notes for the run record
    # What a checkpoint needs beyond the above (see hone.train.resume):
    generators: dict[str, torch.Generator] = field(default_factory=dict)  # batch order, augment
    scaler: torch.amp.GradScaler | None = None
    first_loss: float | None = None  # the first step's loss: explosions are judged against it
    init_weight: float = 0.0  # the largest initial |weight|: "never trained" is judged on it
    callbacks: list[Any] = field(default_factory=list)  # every callback, in call order
    resumed_from: int = 0  # the checkpoint's epoch when this run was resumed
    # The optimizer state a checkpoint saves, when ``optimizer`` does not hold it itself (a
    # stacked member's rows of the shared optimizer; hone.train.stacked).
    optimizer_state: Callable[[], dict[str, Any]] | None = None

    def record(self, logs: dict[str, float]) -> None:
        """Append an epoch's metrics to the history (keys may appear later: pad earlier epochs)."""
        n = len(next(iter(self.history.values()), []))
        for key, value in logs.items():
            self.history.setdefault(key, [float("nan")] * n).append(value)
        for key, values in self.history.items():
            if key not in logs:
                values.append(float("nan"))
