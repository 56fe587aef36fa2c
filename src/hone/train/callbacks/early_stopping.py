"""Stop training when a monitored metric stops improving, and keep the best weights."""

from __future__ import annotations

import copy
from typing import Any

from hone.train.callbacks.monitor import MonitorCallback
from hone.train.state import TrainState

__all__ = ["EarlyStopping"]


class EarlyStopping(MonitorCallback):
    """Keras-style early stopping with one difference: ``restore_best`` restores the best
    weights whenever training completes, also when the stop never fired.

    ``patience`` epochs without an improvement of at least ``min_delta`` stop training;
    the first ``start_from_epoch`` epochs are not monitored (warm-up noise).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        min_delta: float = 0.0,
        patience: int = 10,
        start_from_epoch: int = 0,
        restore_best: bool = True,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = patience
        self.start_from_epoch = start_from_epoch
        self.restore_best = restore_best
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: dict[str, Any] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self.reset()
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.best, self.best_epoch = saved["best"], saved["best_epoch"]
        self.wait, self.stopped_epoch = saved["wait"], saved["stopped_epoch"]
        self.best_weights = saved["best_weights"]

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch <= self.start_from_epoch:
            return
        value = self.current(state)
        self.wait += 1
        if self.is_improvement(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best:
                self.best_weights = copy.deepcopy(state.model.state_dict())
            return
        if self.wait >= self.patience:
            self.stopped_epoch = state.epoch
            state.stop_training = True
            state.stop_reason = (
                f"early stopping at epoch {state.epoch}: {self.monitor} did not improve by "
                f"more than {self.min_delta:g} for {self.patience} epochs "
                f"(best {self.best:.4g} at epoch {self.best_epoch})"
            )

    def on_train_end(self, state: TrainState) -> None:
        state.info["early_stopping"] = {
            "monitor": self.monitor,
            "best_epoch": self.best_epoch,
            "best_value": self.best if self.best_epoch else None,
            "stopped_epoch": self.stopped_epoch or None,
            "restored": False,
        }
        # Restore only after a completed run: an interrupted run keeps its last weights.
        if state.status == "completed" and self.restore_best and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)
            state.info["early_stopping"]["restored"] = True
