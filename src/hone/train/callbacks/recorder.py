"""Writes each epoch's metrics to the run store as training goes, so nothing recorded is lost."""

from __future__ import annotations

import time
from typing import Any

from hone.store.runstore import RunStore
from hone.train.callbacks.base import Callback
from hone.train.state import TrainState

__all__ = ["StoreRecorder"]


class StoreRecorder(Callback):
    """Buffers epochs and flushes them every ``flush_seconds`` and at the end of training.

    Flushing on a timer rather than per epoch keeps thousands of tiny epochs cheap while a
    crash loses at most ``flush_seconds`` of history.
    """

    def __init__(self, store: RunStore, run_id: str, flush_seconds: float = 1.0) -> None:
        self.store = store
        self.run_id = run_id
        self.flush_seconds = flush_seconds
        self._pending: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()

    def on_epoch_end(self, state: TrainState) -> None:
        self._pending.append({"epoch": state.epoch, **state.logs})
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def on_train_end(self, state: TrainState) -> None:
        self.flush()

    def flush(self) -> None:
        self.store.append_epochs(self.run_id, self._pending)
        self._pending = []
        self._last_flush = time.monotonic()
