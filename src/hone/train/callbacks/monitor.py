"""The shared base for callbacks that watch one metric: ``monitor``, ``mode``, ``min_delta``."""

from __future__ import annotations

import math

from hone.config.names import higher_is_better
from hone.train.callbacks.base import Callback
from hone.train.state import TrainState

__all__ = ["MonitorCallback", "resolve_mode"]


def resolve_mode(monitor: str, mode: str) -> str:
    """``auto`` maximises accuracy-like metrics and minimises everything else (losses)."""
    if mode != "auto":
        return mode
    return "max" if higher_is_better(monitor) else "min"


class MonitorCallback(Callback):
    """Tracks the best value of ``monitor``; an improvement must beat it by ``min_delta``."""

    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0) -> None:
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode)
        self.min_delta = abs(min_delta)
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0

    def current(self, state: TrainState) -> float:
        if self.monitor not in state.logs:
            available = ", ".join(sorted(state.logs))
            raise KeyError(f"monitored metric '{self.monitor}' is not recorded; have: {available}")
        return float(state.logs[self.monitor])

    def is_improvement(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta
