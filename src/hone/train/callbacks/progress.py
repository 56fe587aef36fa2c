"""Progress over epochs: a one-line live bar on a terminal, plain lines in a log; and
``Pulses``, which tells a command's display (``hone.progress.RunsBar``) where a run is.

On a terminal the line is laid out for the width it is drawn at: the bar, ``epoch/total`` and
the elapsed time and ETA always fit; metrics are abbreviated, then dropped, to make room. In a
pipe or CI log (no terminal) it prints one plain line per epoch, as Keras does with
``verbose=2``, or every N epochs for long runs, so a log never holds a half-drawn bar.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from rich.console import Console
from rich.live import Live

from hone.progress import ProgressLine, Pulse, metric_pairs, metrics_text
from hone.text import strip_control
from hone.train.callbacks.base import Callback
from hone.train.state import TrainState

__all__ = ["ProgressBar", "Pulses", "metric_pairs", "metrics_text"]

_MAX_LOG_LINES = 60  # a long run in a log prints about this many epoch lines


class ProgressBar(Callback):
    """Shows epochs done, time elapsed and left, and the last epoch's metrics."""

    def __init__(self, description: str = "training", console: Console | None = None) -> None:
        self.description = strip_control(description, keep_newlines=False)  # plain text
        self.console = console or Console(stderr=True, emoji=False)
        self._live: Live | None = None
        self._line: ProgressLine | None = None
        self._every = 1
        self._printed = 0.0

    def on_train_begin(self, state: TrainState) -> None:
        self._line = ProgressLine(self.description, state.epochs, "epochs", start=state.epoch)
        if self.console.is_terminal:
            self._live = Live(
                self._line, console=self.console, refresh_per_second=4, transient=False
            )
            self._live.start()
        else:
            self._every = max(1, math.ceil(state.epochs / _MAX_LOG_LINES))
            self._printed = time.monotonic()

    def on_epoch_end(self, state: TrainState) -> None:
        if self._line is None:
            return
        logs = dict(state.logs)
        self._line.done = state.epoch
        self._line.tail = lambda width: metrics_text(logs, width)
        if self._live is not None:
            return  # the live display redraws itself
        final = state.epoch == state.epochs or state.stop_training
        due = state.epoch == self._line.start + 1 or state.epoch % self._every == 0
        if final or due or time.monotonic() - self._printed > 30:
            self._log_line(logs)

    def note(self, text: str) -> None:
        """One line above the live bar (or in the log), e.g. a live diagnosis warning."""
        self.console.print(text, highlight=False, soft_wrap=True, markup=False)

    def _log_line(self, logs: dict[str, float]) -> None:
        assert self._line is not None
        text = self._line.log_line(*metric_pairs(logs, 10_000))
        self.console.print(text, highlight=False, soft_wrap=True, markup=False)
        self._printed = time.monotonic()

    def on_train_end(self, state: TrainState) -> None:
        if self._line is None:
            return
        self._line.ended = time.monotonic()
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._line = None


class Pulses(Callback):
    """Tells ``sink`` where the run is: at its start, about every ``every`` seconds inside an
    epoch (the epoch's fraction done and the latest batch's loss), at each epoch's end (its
    metrics) and when it ends. Reading a batch's loss waits for the device, so it is done
    at most that often."""

    def __init__(self, sink: Callable[[Pulse], None], label: str, every: float = 0.5) -> None:
        self.sink, self.label, self.every = sink, label, every
        self._next = 0.0
        self._logs: dict[str, float] = {}

    def _send(self, state: TrainState, epoch: float, loss: float | None, status: str = ""
              ) -> None:  # fmt: skip
        pulse = Pulse(self.label, epoch, state.epochs, loss, dict(self._logs), bool(status),
                      status)  # fmt: skip
        self.sink(pulse)
        self._next = time.monotonic() + self.every

    def on_train_begin(self, state: TrainState) -> None:
        self._send(state, float(state.epoch), None)

    def on_batch_end(self, state: TrainState) -> None:
        if time.monotonic() < self._next or state.batch_loss is None:
            return
        done = state.epoch - 1 + (state.batch + 1) / max(1, state.steps_per_epoch)
        self._send(state, done, float(state.batch_loss))

    def on_epoch_end(self, state: TrainState) -> None:
        self._logs = {k: v for k, v in state.logs.items() if k in _PULSED}
        self._send(state, float(state.epoch), None)

    def on_train_end(self, state: TrainState) -> None:
        why = state.stop_reason if state.status != "completed" else ""
        status = f"{state.status} ({why})" if why else state.status
        self._send(state, float(state.epoch), None, status or "ended")


_PULSED = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
