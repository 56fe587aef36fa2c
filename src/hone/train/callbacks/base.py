"""The callback interface: six hooks, one signature, all optional."""

from __future__ import annotations

from collections.abc import Iterable

from hone.train.state import TrainState

__all__ = ["Callback", "CallbackList"]

HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_begin",
    "on_batch_end",
    "on_epoch_end",
    "on_train_end",
)


class Callback:
    """Override any hook; each receives the shared ``TrainState`` and returns nothing.

    Batch hooks run on every step, so only callbacks that override them are called there.
    """

    def on_train_begin(self, state: TrainState) -> None:
        """Before the first epoch (the model is initialised; no step taken)."""

    def on_epoch_begin(self, state: TrainState) -> None:
        """Before the first batch of ``state.epoch``."""

    def on_batch_begin(self, state: TrainState) -> None:
        """Before the forward pass of ``state.batch``."""

    def on_batch_end(self, state: TrainState) -> None:
        """After the optimizer step; ``state.batch_loss`` holds the loss tensor."""

    def on_epoch_end(self, state: TrainState) -> None:
        """After validation; ``state.logs`` holds the epoch's metrics, already in the history."""

    def on_train_end(self, state: TrainState) -> None:
        """Always runs, also after Ctrl-C or divergence (``state.status`` says which)."""


class CallbackList:
    """Dispatches each hook to the callbacks that implement it, in order."""

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks = list(callbacks)
        self._hooks = {
            hook: [
                getattr(cb, hook)
                for cb in self.callbacks
                if getattr(type(cb), hook) is not getattr(Callback, hook)
            ]
            for hook in HOOKS
        }

    def has(self, hook: str) -> bool:
        return bool(self._hooks[hook])

    def call(self, hook: str, state: TrainState) -> None:
        for fn in self._hooks[hook]:
            fn(state)
