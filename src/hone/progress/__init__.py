"""Progress on the terminal and in logs: ``ProgressLine`` (one line that fits any width, used by
a run's epoch bar) and ``RunsBar`` (a command's runs, with what each run in progress does)."""

from hone.progress.line import (
    ProgressLine,
    clock,
    metric_pairs,
    metrics_text,
    number,
    shorten,
    shorten_apart,
)
from hone.progress.runs import Pulse, Pulsing, RunsBar

__all__ = [
    "ProgressLine",
    "Pulse",
    "Pulsing",
    "RunsBar",
    "clock",
    "metric_pairs",
    "metrics_text",
    "number",
    "shorten",
    "shorten_apart",
]
