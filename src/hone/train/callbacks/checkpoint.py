"""Save a resumable checkpoint every few epochs, so ``kill -9`` loses at most those epochs."""

from __future__ import annotations

import contextlib
import math
import time

from hone.store.runstore import RunStore
from hone.train.callbacks.base import Callback
from hone.train.resume import CHECKPOINT_FILE, capture, save_checkpoint
from hone.train.state import TrainState

__all__ = ["Checkpoint"]


class Checkpoint(Callback):
    """Every ``every`` epochs writes ``weights.safetensors`` (what reports and ``hone.load``
    read) and ``checkpoint.pt`` (what ``hone run --resume`` continues from), each atomically,
    so a kill mid-write leaves the previous one whole. After the first, at most once per
    ``min_seconds``, so thousands of tiny epochs do not spend their time writing;
    ``wait_first`` holds the first one to that too (a stacked trial: short, and one of many).

    The checkpoint is removed when the run completes or diverges (nothing to continue);
    an interrupted, failed or killed run keeps it (Keras ``BackupAndRestore`` does the same).
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        every: int,
        min_seconds: float = 1.0,
        elapsed: float = 0.0,
        wait_first: bool = False,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.every = every
        self.min_seconds = min_seconds
        self.elapsed = elapsed  # training seconds before this process (a resumed run)
        self._started = time.monotonic()
        self._last = time.monotonic() if wait_first else -math.inf
        self.saved_epoch = 0

    def wait_first(self) -> None:
        """From now, the first checkpoint waits ``min_seconds`` too."""
        self._last = max(self._last, time.monotonic())

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every or time.monotonic() - self._last < self.min_seconds:
            return
        elapsed = self.elapsed + time.monotonic() - self._started
        save_checkpoint(self.store.run_dir(self.run_id), capture(state, state.callbacks, elapsed))
        self.store.save_weights(self.run_id, state.model.state_dict())
        self._last = time.monotonic()
        self.saved_epoch = state.epoch

    def on_train_end(self, state: TrainState) -> None:
        if self.saved_epoch:
            state.info["checkpoint_epoch"] = self.saved_epoch
        if state.status in ("completed", "diverged"):
            with contextlib.suppress(OSError):
                (self.store.run_dir(self.run_id) / CHECKPOINT_FILE).unlink(missing_ok=True)
