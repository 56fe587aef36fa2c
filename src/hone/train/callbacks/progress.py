"""Progress over epochs: a one-line live bar on a terminal, plain lines in a log.

On a terminal the line is laid out for the width it is drawn at: the bar, ``epoch/total`` and
the elapsed time and ETA always fit; metrics are abbreviated, then dropped, to make room. In a
pipe or CI log (no terminal) it prints one plain line per epoch, as Keras does with
``verbose=2``, or every N epochs for long runs, so a log never holds a half-drawn bar.
"""

from __future__ import annotations

import math
import time

from rich.console import Console
from rich.live import Live

from hone.progress import ProgressLine
from hone.text import strip_control
from hone.train.callbacks.base import Callback
from hone.train.state import TrainState

__all__ = ["ProgressBar", "metric_pairs", "metrics_text"]

# (log key, long label, short label), in the order they are given room.
_SHOWN = (
    ("train_loss", "loss", "l"),
    ("val_loss", "val_loss", "vl"),
    ("val_accuracy", "val_acc", "va"),
    ("train_accuracy", "acc", "a"),
)
_ORDER = [_SHOWN[i] for i in (0, 3, 1, 2)]  # Keras's order: loss, acc, val_loss, val_acc
_MAX_LOG_LINES = 60  # a long run in a log prints about this many epoch lines


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    if value and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.4f}"


def metric_pairs(logs: dict[str, float], width: int) -> list[str]:
    """``label value`` pairs that fit ``width`` characters joined by spaces: long labels first,
    then short ones, then fewer metrics (the least telling dropped first)."""
    present = [(key, long, short) for key, long, short in _SHOWN if key in logs]
    for label in (1, 2):  # 1: long labels, 2: short labels
        for n in range(len(present), 0, -1):
            chosen = [p for p in _ORDER if p in present[:n]]  # display order stays fixed
            pairs = [f"{p[label]} {_number(logs[p[0]])}" for p in chosen]
            if len(" ".join(pairs)) <= width:
                return pairs
    return []


def metrics_text(logs: dict[str, float], width: int) -> str:
    """The epoch's metrics in at most ``width`` characters."""
    return " ".join(metric_pairs(logs, width))


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
