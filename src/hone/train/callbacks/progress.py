"""A Rich progress bar over epochs with the latest loss and metrics."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from hone.text import safe
from hone.train.callbacks.base import Callback
from hone.train.state import TrainState

__all__ = ["ProgressBar"]

_SHOWN = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


class ProgressBar(Callback):
    """Shows epochs done, time left and the last epoch's metrics; redraws at most 10×/s."""

    def __init__(self, description: str = "training", console: Console | None = None) -> None:
        self.description = safe(description, keep_newlines=False)
        self.console = console or Console(stderr=True, emoji=False)
        self._progress: Progress | None = None
        self._task = TaskID(0)
        self._last = 0.0

    def on_train_begin(self, state: TrainState) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epochs"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=state.epochs, metrics="")

    def on_epoch_end(self, state: TrainState) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        final = state.epoch == state.epochs or state.stop_training
        if now - self._last < 0.1 and not final:
            self._progress.update(self._task, completed=state.epoch)
            return
        self._last = now
        shown = "  ".join(
            f"{k.replace('_accuracy', '_acc')}={state.logs[k]:.4f}"
            for k in _SHOWN
            if k in state.logs
        )
        self._progress.update(self._task, completed=state.epoch, metrics=shown)

    def on_train_end(self, state: TrainState) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
