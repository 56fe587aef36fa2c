"""Steps a learning-rate ``Schedule`` per batch or per epoch and records the LR it set."""

from __future__ import annotations

from typing import Any

from hone.train.callbacks.base import Callback
from hone.train.schedules import Schedule
from hone.train.state import TrainState

__all__ = ["LRSchedule"]


class LRSchedule(Callback):
    """The engine records the LR each epoch starts with (``history["lr"]``); for per-step
    schedules such as one_cycle this also records the LR of every step (``info["lr_steps"]``)."""

    def __init__(self, name: str, params: dict[str, Any], warmup_epochs: int = 0) -> None:
        self.name = name
        self.params = params
        self.warmup_epochs = warmup_epochs
        self.schedule: Schedule | None = None
        self.lr_steps: list[float] = []

    def on_train_begin(self, state: TrainState) -> None:
        self.schedule = Schedule(
            state.optimizer,
            self.name,
            self.params,
            self.warmup_epochs,
            state.epochs,
            state.steps_per_epoch,
        )
        self.lr_steps = []

    def state_dict(self) -> dict[str, Any]:
        assert self.schedule is not None
        return {"schedule": self.schedule.state_dict(), "lr_steps": list(self.lr_steps)}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        assert self.schedule is not None  # built by on_train_begin, which runs first
        self.schedule.load_state_dict(saved["schedule"])
        self.lr_steps = list(saved["lr_steps"])

    def on_batch_begin(self, state: TrainState) -> None:
        if self.schedule is not None and self.schedule.per_step:
            self.lr_steps.append(state.optimizer.param_groups[0]["lr"])

    def on_batch_end(self, state: TrainState) -> None:
        if self.schedule is not None:
            self.schedule.step_batch()

    def on_epoch_end(self, state: TrainState) -> None:
        if self.schedule is not None:
            self.schedule.step_epoch(state.logs)

    def on_train_end(self, state: TrainState) -> None:
        if self.lr_steps:
            state.info["lr_steps"] = self.lr_steps
