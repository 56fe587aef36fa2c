"""The training loop. Read it top to bottom: shuffle, slice batches, step, validate, record.

Data stays on the device as tensors and batches are index slices. Per-batch losses and correct
counts stay on the device too and are read once per epoch (plus a finiteness check every
``CHECK_EVERY`` steps), so the loop never waits on the host.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

import torch
from torch import nn

from hone.data.base import Split
from hone.evaluate.predict import evaluate_split
from hone.train.callbacks.base import Callback, CallbackList
from hone.train.losses import LossFn
from hone.train.state import TrainState

__all__ = ["fit"]

CHECK_EVERY = 256  # steps between divergence checks inside an epoch


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    train: Split,
    val: Split | None,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    callbacks: Sequence[Callback] = (),
) -> TrainState:
    """Train ``model`` in place; returns the final state (status, history, divergence point).

    There is deliberately no test split parameter: the test set cannot leak into training,
    early stopping or model selection through this function.
    """
    n = len(train)
    batch_size = min(batch_size, n)
    steps = math.ceil(n / batch_size)
    state = TrainState(model, optimizer, epochs, steps)
    cbs = CallbackList(callbacks)
    batch_hooks = cbs.has("on_batch_begin") or cbs.has("on_batch_end")
    sizes = torch.full((steps,), float(batch_size), device=train.x.device)
    sizes[-1] = n - batch_size * (steps - 1)

    with _stop_on_ctrl_c(state):
        cbs.call("on_train_begin", state)
        try:
            for epoch in range(1, epochs + 1):
                state.epoch = epoch
                cbs.call("on_epoch_begin", state)
                lr = optimizer.param_groups[0]["lr"]
                started = time.perf_counter()
                model.train()
                order = torch.randperm(n, generator=generator).to(train.x.device)
                losses: list[torch.Tensor] = []
                correct: list[torch.Tensor] = []
                for b in range(steps):
                    state.batch = b
                    if batch_hooks:
                        cbs.call("on_batch_begin", state)
                    idx = order[b * batch_size : (b + 1) * batch_size]
                    xb, yb = train.x.index_select(0, idx), train.y.index_select(0, idx)
                    logits = model(xb)
                    loss = loss_fn(logits, yb)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()  # type: ignore[no-untyped-call]
                    optimizer.step()
                    state.step += 1
                    state.batch_loss = loss.detach()
                    losses.append(state.batch_loss)
                    correct.append((logits.detach().argmax(dim=1) == yb).sum())
                    if batch_hooks:
                        cbs.call("on_batch_end", state)
                    if (b + 1) % CHECK_EVERY == 0 and _diverged(state, losses, b + 1 - CHECK_EVERY):
                        break
                    if state.interrupt_requested:
                        break
                if state.interrupt_requested:
                    state.status, state.stop_reason = "interrupted", "interrupted by Ctrl-C"
                    break
                if _diverged(state, losses, 0):
                    break
                loss_per_batch = torch.stack(losses)
                state.logs = {
                    "train_loss": float((loss_per_batch * sizes).sum() / n),
                    "train_accuracy": float(torch.stack(correct).sum() / n),
                }
                if val is not None:
                    for key, value in evaluate_split(model, val, loss_fn).items():
                        state.logs[f"val_{key}"] = value
                state.logs["lr"] = lr
                state.logs["epoch_seconds"] = time.perf_counter() - started
                state.record({"epoch": epoch, **state.logs})
                cbs.call("on_epoch_end", state)
                if state.stop_training:
                    break
            if state.status == "running":
                state.status = "completed"
        except KeyboardInterrupt:  # a second Ctrl-C, or Ctrl-C outside the main thread
            state.status, state.stop_reason = "interrupted", "interrupted by Ctrl-C"
        finally:
            if state.status == "running":  # an exception is propagating
                state.status = "failed"
            cbs.call("on_train_end", state)
    return state


def _diverged(state: TrainState, losses: list[torch.Tensor], start: int) -> bool:
    """True (and status ``diverged``) when a loss from batch ``start`` on is NaN or infinite."""
    recent = torch.stack(losses[start:])
    if bool(torch.isfinite(recent.sum())):
        return False
    first_bad = start + int(torch.nonzero(~torch.isfinite(recent))[0, 0]) + 1
    state.status = "diverged"
    state.diverged_at = (state.epoch, first_bad)
    state.stop_reason = (
        f"loss became {float(losses[first_bad - 1])} at epoch {state.epoch}, "
        f"step {first_bad} of {state.steps_per_epoch}"
    )
    return True


@contextmanager
def _stop_on_ctrl_c(state: TrainState) -> Iterator[None]:
    """First Ctrl-C: finish the current step, then stop cleanly. Second: raise at once."""
    try:
        previous = signal.getsignal(signal.SIGINT)
    except ValueError:  # not the main thread; KeyboardInterrupt is caught by fit instead
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if state.interrupt_requested:
            raise KeyboardInterrupt
        state.interrupt_requested = True

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
