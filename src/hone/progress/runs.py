"""``RunsBar`` follows a whole command (compare, improve, tune): on a terminal a live display,
redrawn four times a second, of the runs done, elapsed and ETA, and one line per run in
progress (its epoch, live loss and last validation metrics) from the ``Pulse`` each training
loop sends; in a pipe one line per finished run and a heartbeat line at most every 30 s
while nothing finishes. Whatever a command prints while it runs goes through ``say``, so it
lands above the live display instead of inside it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.text import Text

from hone.progress.line import ProgressLine, clock, metrics_text, shorten
from hone.text import strip_control

__all__ = ["Pulse", "Pulsing", "RunsBar"]

MAX_RUN_LINES = 8  # runs in progress shown one per line; the rest are counted
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass
class Pulse:
    """What one run in progress is doing, as its training loop says it (plain data: it
    crosses from a ``--jobs`` worker process to the parent)."""

    label: str  # "v1 seed 2", "trial 7"
    epoch: float  # epochs done, fractional inside an epoch
    epochs: int
    loss: float | None = None  # the latest training loss (a recent batch's, mid-epoch)
    logs: dict[str, float] = field(default_factory=dict)  # the last finished epoch's metrics
    ended: bool = False
    status: str = ""  # when ended: completed, diverged, stopped (and why)
    seen: float = field(default_factory=time.monotonic)  # when the run first reported

    def text(self, width: int) -> str:
        """``v1 seed 2  epoch 3/10  loss 0.3123  val_acc 0.9500`` in ``width`` characters."""
        whole = int(self.epoch) if self.epoch < self.epochs else self.epochs
        head = f"epoch {whole}/{self.epochs}"
        label = strip_control(self.label, keep_newlines=False)
        label = shorten(label, max(8, width - len(head) - 34))  # metrics keep about 30
        logs = dict(self.logs)
        if self.loss is not None:
            logs["train_loss"] = self.loss  # the live loss, newer than the epoch's
        room = width - len(label) - len(head) - 4
        metrics = metrics_text(logs, room) if room > 0 else ""
        return "  ".join(p for p in (label, head, metrics) if p)[:width]


@runtime_checkable
class Pulsing(Protocol):
    """A progress display that also follows runs in progress (``RunsBar``)."""

    def pulse(self, p: Pulse) -> None: ...


class RunsBar:
    """Progress over a command's runs on stderr; see the module's docstring.

    Called as ``bar(label, done, total, running)`` by experiments (``done`` restarting from
    0 begins a new batch, as each round of ``hone improve`` does: the counts add up), and
    told by ``pulse`` what each run in progress is doing.
    """

    def __init__(self, title: str, quiet: bool, unit: str = "runs",
                 console: Console | None = None, heartbeat: float = 30.0) -> None:  # fmt: skip
        self.console = console or Console(stderr=True, emoji=False)
        self.quiet = quiet
        self.title = title
        self.unit = unit
        self.heartbeat = heartbeat
        self.line: ProgressLine | None = None
        self.live: Live | None = None
        self.jobs: list[str] = []
        self.running: dict[str, Pulse] = {}
        self._ended: dict[str, str] = {}  # runs a pulse said ended, not yet counted: status
        self._batch = (0, 0)  # (done, total) of the current batch
        self._offset = 0  # units done in earlier batches
        self._lock = threading.RLock()
        self._printed = time.monotonic()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._phase = ""  # what the command does between runs (loading data, summarizing)
        self._began = time.monotonic()

    def __call__(self, label: str, done: int, total: int, active: list[str] | None = None) -> None:
        if self.quiet:
            return
        with self._lock:
            if done < self._batch[0] or (done == 0 and self._batch[0] == self._batch[1] > 0):
                self._offset += self._batch[1]  # the next batch of runs (an improve round)
                self._ended.clear()
            finished = max(0, done - self._batch[0])
            self._batch = (done, total)
            line = self._start(self._offset + total)
            label = strip_control(label, keep_newlines=False)  # plain text, never markup
            if label or self._phase:
                line.tail = label
            self._phase = ""
            self.jobs = [strip_control(a, keep_newlines=False) for a in active or []]
            # Runs whose end a pulse already announced are counted now, not twice.
            announced = 0
            key = label.rpartition(": ")[0]
            if finished and key in self._ended:
                del self._ended[key]
                announced = 1
            while announced < finished and self._ended:
                del self._ended[next(iter(self._ended))]
                announced += 1
            if finished:
                self.running.pop(key, None)
            self._count()
            text = self._line_text(label)
        if self.live is not None:
            self.live.refresh()
        elif finished > announced:
            self._log(text)

    def pulse(self, p: Pulse) -> None:
        """A run in progress says where it is (``ended``: it has finished training; in a
        log, its line is printed now rather than when the command counts it)."""
        if self.quiet:
            return
        text = ""
        with self._lock:
            if p.ended:
                self.running.pop(p.label, None)
                self._ended[p.label] = p.status
                if self.line is not None:
                    self._count()
                    text = self._line_text(f"{p.label}: {p.status}" if p.status else p.label)
            else:
                known = self.running.get(p.label)
                if known is not None:
                    p.seen = known.seen
                self.running[p.label] = p
                self._count()
        if text and self.live is None:
            self._log(text)

    def _count(self) -> None:
        """Runs done (those ended but not yet counted by the command included), and the share
        of the runs in progress that is done."""
        if self.line is None:
            return
        line = self.line
        line.total = self._offset + self._batch[1]
        line.done = min(line.total, self._offset + self._batch[0] + len(self._ended))
        share = sum(min(1.0, p.epoch / max(1, p.epochs)) for p in self.running.values())
        line.partial = min(share, float(line.total - line.done))

    def _line_text(self, label: str) -> str:
        assert self.line is not None
        eta = self.line.eta()
        return self.line.log_line(*([f"eta {clock(eta)}"] if eta else []), label)

    def phase(self, text: str) -> None:
        """What the command is doing outside its runs ("loading the data"): on a terminal
        the display shows it, with the clock running, until the runs start; in a log, one
        line. ``""`` clears it."""
        if self.quiet:
            return
        with self._lock:
            self._phase = strip_control(text, keep_newlines=False)
            self._show()
            if self.line is not None and text:
                self.line.tail = self._phase
        if self.live is None and text:
            self._log(f"{self.title}: {self._phase}")

    def say(self, text: str, wrap: bool = True) -> None:
        """A line for the user above the live display (or in the log), never inside it.
        ``wrap``: prose wraps between words on a terminal; a line to copy (a command) never
        wraps."""
        if self.quiet:
            return
        self._log(strip_control(text), wrap)

    def _log(self, text: str, wrap: bool = False) -> None:
        # Never under self._lock: the live display's refresh thread takes Rich's lock, then
        # ours (to draw); printing takes Rich's. A log is never wrapped.
        soft = not (wrap and self.console.is_terminal)
        self.console.print(text, highlight=False, soft_wrap=soft, markup=False)
        self._printed = time.monotonic()

    def _start(self, total: int) -> ProgressLine:
        if self.line is None:
            self.line = ProgressLine(self.title, total, self.unit)
            self.line.since = self._began
            self._phase = ""
            self._show()
        return self.line

    def _show(self) -> None:
        """Start the live display (terminal) or the heartbeat (log), once."""
        if self.live is not None or self._beat is not None:
            return
        if self.console.is_terminal:
            self.live = Live(self, console=self.console, refresh_per_second=4,
                             redirect_stdout=False)  # fmt: skip
            self.live.start()
        elif self.heartbeat > 0:
            self._beat = threading.Thread(target=self._heartbeats, daemon=True)
            self._beat.start()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        with self._lock:
            width = options.max_width
            # A spinner that turns at every redraw: the screen visibly moves several times a
            # second even while no number on it changes.
            turning = self.line is None or self.line.ended is None
            spin = SPINNER[int(time.monotonic() * 8) % len(SPINNER)] if turning else " "
            if self.line is None:
                text = f"{self.title}: {self._phase} {clock(time.monotonic() - self._began)}"
                yield Text.assemble((spin, "cyan"), " ", text, no_wrap=True, overflow="ellipsis")
                return
            parts = self.line.parts(width - 2)
            yield Text.assemble((spin, "cyan"), " ", *parts, no_wrap=True, overflow="crop")
            runs = sorted(self.running.values(), key=lambda p: p.label)
            lines = [p.text(width - 4) for p in runs[:MAX_RUN_LINES]]
            more = len(runs) - MAX_RUN_LINES
            if not runs:  # runs that do not report (Ray tasks, tune's --jobs workers, stacks)
                lines = [str(label) for label in self.jobs[:MAX_RUN_LINES]]
                more = len(self.jobs) - MAX_RUN_LINES
            if more > 0:  # a stack of 32 trials was 32 lines
                lines.append(f"… and {more} more in progress")
            for text in lines:
                yield Text("  " + text, no_wrap=True, overflow="ellipsis")

    def _heartbeats(self) -> None:
        """In a log: a line at most every ``heartbeat`` seconds while no run finishes."""
        while not self._stop.wait(1.0):
            with self._lock:
                if self.line is None or time.monotonic() - self._printed < self.heartbeat:
                    continue
                runs = sorted(self.running.values(), key=lambda p: p.label)
                doing = [p.text(10_000) for p in runs] or self.jobs
                text = self._line_text(
                    "running: " + ("; ".join(doing) if doing else "(between runs)")
                )
            self._log(text)

    def __enter__(self) -> RunsBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self.line is not None:
                self.line.ended = time.monotonic()
            self.running.clear()
            self.jobs = []
        if self.live is not None:
            self.live.refresh()
            self.live.stop()
            self.live = None
