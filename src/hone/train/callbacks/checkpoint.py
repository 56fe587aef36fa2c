"""Save the weights every few epochs while training, so ``kill -9`` loses at most those epochs."""

from __future__ import annotations

import time

from hone.store.runstore import RunStore
from hone.train.callbacks.base import Callback
from hone.train.state import TrainState

__all__ = ["Checkpoint"]


class Checkpoint(Callback):
    """Writes ``weights.safetensors`` every ``every`` epochs (atomically: a kill mid-write
    leaves the previous checkpoint), at most once per ``min_seconds`` so that thousands of
    tiny epochs do not spend their time writing; the epoch saved is noted in the record."""

    def __init__(self, store: RunStore, run_id: str, every: int, min_seconds: float = 1.0) -> None:
        self.store = store
        self.run_id = run_id
        self.every = every
        self.min_seconds = min_seconds
        self._last = time.monotonic()
        self.saved_epoch = 0

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every or time.monotonic() - self._last < self.min_seconds:
            return
        self.store.save_weights(self.run_id, state.model.state_dict())
        self._last = time.monotonic()
        self.saved_epoch = state.epoch

    def on_train_end(self, state: TrainState) -> None:
        if self.saved_epoch:
            state.info["checkpoint_epoch"] = self.saved_epoch
