"""One progress line that fits any terminal width, shared by training and experiments.

The line is laid out again at every refresh for the width it is drawn at. The bar,
``done/total`` and the elapsed time and ETA always fit; the description is shortened in the
middle (so a trailing run id stays readable) and the tail (metrics, the last run's label) gets
what is left, so nothing that matters is ever cut to ``30…``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.text import Text

from hone.text import strip_control

__all__ = ["ProgressLine", "RunsBar", "clock", "shorten"]

MIN_BAR = 10
MAX_BAR = 30
MAX_DESCRIPTION = 24


def clock(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss``; ``-:--`` while unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-:--"
    h, rest = divmod(round(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut in the middle so both ends stay."""
    if len(text) <= width:
        return text
    if width < 10:
        return text[: width - 1] + "…" if width > 1 else ""
    tail = min(max(7, width // 3), width - 4)
    return text[: width - tail - 1] + "…" + text[-tail:]


class ProgressLine:
    """``description ━━━━━━ done/total unit elapsed eta left  tail``.

    ``tail`` is a function of the width left for it (metrics pick what fits) or a plain string
    (shortened in the middle).
    """

    def __init__(self, description: str, total: int, unit: str, start: int = 0) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.start = start  # done before this process (a resumed run): not in the rate
        self.done = start
        self.tail: str | Callable[[int], str] = ""
        self.started = time.monotonic()
        self.ended: float | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text.assemble(*self.parts(options.max_width), no_wrap=True, overflow="crop")

    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def parts(self, width: int) -> list[Any]:
        elapsed = self.elapsed()
        finished = self.ended is not None or self.done >= self.total
        rate_done = self.done - self.start
        eta = elapsed / rate_done * (self.total - self.done) if rate_done > 0 else None
        count = f"{self.done:>{len(str(self.total))}}/{self.total} {self.unit}"
        times = f"{clock(elapsed)} eta {clock(0 if finished else eta)}"
        room = width - len(count) - len(times) - 3
        desc = shorten(self.description, min(MAX_DESCRIPTION, max(0, room - MIN_BAR - 1)))
        room -= len(desc) + 1 if desc else 0
        # The tail gets what is left beside the smallest bar; the bar grows into the rest.
        tail_room = max(0, room - MIN_BAR - 3)
        tail = self.tail(tail_room) if callable(self.tail) else shorten(self.tail, tail_room)
        room -= len(tail) + 2 if tail else 0
        bar = max(0, min(MAX_BAR, room))
        filled = round(bar * self.done / max(1, self.total))
        out: list[Any] = []
        if desc:
            out += [(desc, "bold"), " "]
        if bar:
            out += [("━" * filled, "magenta"), ("━" * (bar - filled), "grey37"), " "]
        out += [count, " ", (times, "cyan")]
        if tail:
            out += ["  ", tail]
        return out

    def log_line(self, *extra: str) -> str:
        """The plain line a log gets: ``description 12/300 epochs - 0:04 - extra - extra``."""
        head = f"{self.description} {self.done}/{self.total} {self.unit}"
        return " - ".join([head, clock(self.elapsed()), *extra])


class RunsBar:
    """Progress over an experiment's runs on stderr: a live line (and one line per job in
    flight with ``--jobs``) on a terminal; one plain line per finished run in a log."""

    def __init__(
        self, title: str, quiet: bool, unit: str = "runs", console: Console | None = None
    ) -> None:
        self.console = console or Console(stderr=True, emoji=False)
        self.quiet = quiet
        self.title = title
        self.unit = unit
        self.line: ProgressLine | None = None
        self.live: Live | None = None
        self.jobs: list[str] = []

    def __call__(self, label: str, done: int, total: int, active: list[str] | None = None) -> None:
        if self.quiet:
            return
        if self.line is None:
            self.line = ProgressLine(self.title, total, self.unit)
            if self.console.is_terminal:
                self.live = Live(self._render(), console=self.console, refresh_per_second=4)
                self.live.start()
        finished = done > self.line.done
        label = strip_control(label, keep_newlines=False)  # drawn as plain text, never markup
        self.line.done, self.line.total, self.line.tail = done, total, label
        self.jobs = [strip_control(a, keep_newlines=False) for a in active or []]
        if self.live is not None:
            self.live.update(self._render())
        elif finished:
            self.console.print(
                self.line.log_line(label), highlight=False, soft_wrap=True, markup=False
            )

    def _render(self) -> Group:
        assert self.line is not None
        jobs = [
            Text(f"  job {i}: {label}", no_wrap=True, overflow="ellipsis")
            for i, label in enumerate(self.jobs, start=1)
        ]
        return Group(self.line, *jobs)

    def __enter__(self) -> RunsBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.line is not None:
            self.line.ended = time.monotonic()
        if self.live is not None:
            self.jobs = []
            self.live.update(self._render())
            self.live.stop()
            self.live = None
