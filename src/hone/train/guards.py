"""What both training loops share (``engine.fit`` for one model, ``stacked.fit_stacked`` for K
members): divergence checks — a NaN or infinite loss, a loss that exploded by orders of
magnitude, weights that blew up while accuracy stayed at the majority share —, gradient
clipping, and stopping cleanly on the first Ctrl-C or SIGTERM. ``tests/train/test_guards.py``
runs one contract over both loops."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import torch
from torch import nn

from hone.train.state import TrainState

__all__ = [
    "CHECK_EVERY",
    "GradClip",
    "biggest_weight",
    "diverged",
    "exploded",
    "never_trained",
    "stop_on_ctrl_c",
]

CHECK_EVERY = 256  # steps between divergence checks inside an epoch
EXPLODED = 1e4  # an epoch's loss this many times the first step's (and above 1e3): diverged
HUGE_WEIGHT = 1e4  # |w| beyond this with accuracy at chance: the run never trained
GREW = 50.0  # or the largest weight grew this many times its initial size


@dataclass(frozen=True)
class GradClip:
    norm: float | None = None  # rescale so the global gradient norm is at most this
    value: float | None = None  # clamp every gradient element to [-value, value]

    def __call__(self, params: list[nn.Parameter]) -> None:
        if self.norm is not None:
            torch.nn.utils.clip_grad_norm_(params, self.norm)
        if self.value is not None:
            torch.nn.utils.clip_grad_value_(params, self.value)


def diverged(state: TrainState, window: torch.Tensor, start: int) -> bool:
    """True (and status ``diverged``) when a loss in ``window`` (the batch losses from batch
    index ``start`` on) is NaN or infinite."""
    if bool(torch.isfinite(window.sum())):
        return False
    offset = int(torch.nonzero(~torch.isfinite(window))[0, 0])
    first_bad = start + offset + 1
    state.status = "diverged"
    state.diverged_at = (state.epoch, first_bad)
    state.stop_reason = (
        f"loss became {float(window[offset])} at epoch {state.epoch}, "
        f"step {first_bad} of {state.steps_per_epoch}"
    )
    return True


def exploded(state: TrainState, first_loss: float) -> bool:
    """A loss that grew by orders of magnitude without reaching inf: diverged all the same."""
    loss = state.logs["train_loss"]
    if loss > 1e3 and loss > EXPLODED * max(first_loss, 1e-8):
        state.status = "diverged"
        state.diverged_at = (state.epoch, state.steps_per_epoch)
        state.stop_reason = (
            f"loss exploded from {first_loss:.3g} at the first step to {loss:.3g} in epoch "
            f"{state.epoch}"
        )
        return True
    return False


def biggest_weight(model: nn.Module) -> float:
    with torch.no_grad():
        sizes = [float(p.detach().abs().max()) for p in model.parameters() if p.numel()]
    return max(sizes, default=0.0)


def never_trained(state: TrainState, y: torch.Tensor, init_weight: float) -> None:
    """Accuracy at the majority-class share with weights that blew up (huge, or 50x their
    initial size): a far too high LR, or a huge init, left a model that predicts one class.
    Recorded as diverged."""
    acc = state.history.get("train_accuracy", [])
    if not acc:
        return
    majority = float(torch.bincount(y).max()) / len(y)
    biggest = biggest_weight(state.model)
    blew_up = biggest > HUGE_WEIGHT or (init_weight > 0 and biggest > GREW * init_weight)
    if acc[-1] <= majority + 0.02 and blew_up:
        state.status = "diverged"
        state.diverged_at = (state.epoch, state.steps_per_epoch)
        state.stop_reason = (
            f"training failed: accuracy {acc[-1]:.3f} is the majority-class share and weights "
            f"reach {biggest:.3g}; the updates blew the weights up (too high a learning rate or "
            "too large an initialisation)"
        )


@contextmanager
def stop_on_ctrl_c(state: TrainState) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): finish the current step, then stop cleanly and record the
    run as interrupted. Second: raise at once."""
    try:
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread; KeyboardInterrupt is caught by fit instead
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if state.interrupt_requested:
            raise KeyboardInterrupt
        state.interrupt_requested = True
        state.info["signal"] = signal.Signals(signum).name

    try:
        for sig in previous:
            signal.signal(sig, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
