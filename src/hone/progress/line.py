"""One progress line that fits any terminal width, shared by training and experiments: the
bar, ``done/total`` and the elapsed time and ETA always fit; the description is shortened in
the middle (so a trailing run id stays readable) and the tail (metrics, the last run's label)
gets what is left."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

__all__ = [
    "ProgressLine",
    "clock",
    "metric_pairs",
    "metrics_text",
    "number",
    "shorten",
    "shorten_apart",
]

MIN_BAR = 10
MAX_BAR = 30
MAX_DESCRIPTION = 24

# (log key, long label, short label), in the order they are given room.
_SHOWN = (
    ("train_loss", "loss", "l"),
    ("val_loss", "val_loss", "vl"),
    ("val_accuracy", "val_acc", "va"),
    ("train_accuracy", "acc", "a"),
)
_ORDER = [_SHOWN[i] for i in (0, 3, 1, 2)]  # Keras's order: loss, acc, val_loss, val_acc


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


def shorten_apart(names: list[str], width: int) -> dict[str, str]:
    """Each name in at most ``width`` characters, names that differ still told apart: cut in
    the middle where that keeps them distinct (the same cut for all, so they line up), else
    each keeps its start, the part where it differs from the others, and its end."""
    distinct = sorted(set(names))
    if all(len(n) <= width for n in distinct) or width < 5:
        return {n: shorten(n, width) for n in distinct}
    for tail in range(min(max(7, width // 3), width - 4), 0, -1):
        for head in (width - tail - 1, tail):  # the usual cut, then more of the end
            if head < 1 or head + tail + 1 > width:
                continue
            short = {n: n if len(n) <= width else n[:head] + "…" + n[-(width - head - 1):]
                     for n in distinct}  # fmt: skip
            if len(set(short.values())) == len(distinct):
                return short
    return {n: _around_difference(n, distinct, width) for n in distinct}


def _around_difference(name: str, names: list[str], width: int) -> str:
    """``start…differing part…end`` in ``width`` characters."""
    if len(name) <= width:
        return name
    at = max((_common_prefix(name, other) for other in names if other != name), default=0)
    edge = max(1, (width - 2) // 5)
    middle = width - 2 * edge - 2
    start = min(max(edge, at - middle // 2), len(name) - edge - middle)
    return name[:edge] + "…" + name[start : start + middle] + "…" + name[-edge:]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def number(value: float) -> str:
    """A metric in a progress line: 4 decimals, or 3 significant digits when tiny or huge."""
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
            pairs = [f"{p[label]} {number(logs[p[0]])}" for p in chosen]
            if len(" ".join(pairs)) <= width:
                return pairs
    return []


def metrics_text(logs: dict[str, float], width: int) -> str:
    """The epoch's metrics in at most ``width`` characters."""
    return " ".join(metric_pairs(logs, width))


class ProgressLine:
    """``description ━━━━━━ done/total unit elapsed eta left  tail``.

    ``tail`` is a function of the width left for it (metrics pick what fits) or a plain string
    (shortened in the middle). ``partial`` is work done inside the units still in progress
    (0.4 of a run): it moves the bar and the ETA between whole units.
    """

    def __init__(self, description: str, total: int, unit: str, start: int = 0) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.start = start  # done before this process (a resumed run): not in the rate
        self.done = start
        self.partial = 0.0
        self.tail: str | Callable[[int], str] = ""
        self.started = time.monotonic()
        self.since = self.started  # the clock shown: a command's start, before this line
        self.ended: float | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text.assemble(*self.parts(options.max_width), no_wrap=True, overflow="crop")

    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def clock(self) -> str:
        """The time shown: since the command began (``since``)."""
        return clock((self.ended or time.monotonic()) - min(self.since, self.started))

    def eta(self) -> float | None:
        """Seconds left at the rate so far; ``None`` until something is done."""
        progress = min(float(self.total), self.done + self.partial)
        rate_done = progress - self.start
        if self.ended is not None or self.done >= self.total:
            return 0.0
        return self.elapsed() / rate_done * (self.total - progress) if rate_done > 0 else None

    def parts(self, width: int) -> list[Any]:
        count = f"{self.done:>{len(str(self.total))}}/{self.total} {self.unit}"
        times = f"{self.clock()} eta {clock(self.eta())}"
        room = width - len(count) - len(times) - 3
        desc = shorten(self.description, min(MAX_DESCRIPTION, max(0, room - MIN_BAR - 1)))
        room -= len(desc) + 1 if desc else 0
        # The tail gets what is left beside the smallest bar; the bar grows into the rest.
        tail_room = max(0, room - MIN_BAR - 3)
        tail = self.tail(tail_room) if callable(self.tail) else shorten(self.tail, tail_room)
        room -= len(tail) + 2 if tail else 0
        bar = max(0, min(MAX_BAR, room))
        progress = min(float(self.total), self.done + self.partial)
        filled = round(bar * progress / max(1, self.total))
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
        return " - ".join([head, self.clock(), *extra])
