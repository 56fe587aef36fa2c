"""One contract over both training loops (``engine.fit`` alone and ``stacked.fit_stacked`` for
K members): what ``hone.train.guards`` promises holds in each — a NaN loss ends the run
``diverged`` at the step it appeared, the first Ctrl-C finishes the step and records
``interrupted``, and clipping bounds every gradient."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import pytest
import torch

from hone.assemble import build_run
from hone.config import load_config
from hone.runs.stacking import stack_runs
from hone.train.callbacks import Callback
from hone.train.state import TrainState
from tests.conftest import tiny

Loop = Callable[[dict[str, object], Callable[[], list[Callback]]], list[TrainState]]


def alone(
    overrides: dict[str, object], callbacks: Callable[[], list[Callback]]
) -> list[TrainState]:
    return [build_run(load_config(tiny(**overrides))).fit(callbacks())]


def stacked(
    overrides: dict[str, object], callbacks: Callable[[], list[Callback]]
) -> list[TrainState]:
    built = [build_run(load_config(tiny(**overrides, seed=s))) for s in (0, 1)]
    return stack_runs(built, force=True).fit([callbacks() for _ in built])


LOOPS = pytest.mark.parametrize("loop", [alone, stacked], ids=["alone", "stacked"])


@LOOPS
def test_a_nan_loss_ends_the_run_diverged_where_it_appeared(loop: Loop) -> None:
    states = loop({"train.optimizer": {"name": "sgd", "lr": 1e6}, "train.epochs": 20,
                   "data.preprocess.scale": "none"}, list)  # fmt: skip
    for state in states:
        assert state.status == "diverged"
        assert state.diverged_at is not None and state.diverged_at[0] <= state.epoch
        assert "epoch" in state.stop_reason


class CtrlC(Callback):
    """Sends this process SIGINT in the middle of epoch 2, as a terminal's Ctrl-C would."""

    def on_batch_end(self, state: TrainState) -> None:
        if state.epoch == 2 and not state.interrupt_requested and state.step % 2 == 0:
            os.kill(os.getpid(), signal.SIGINT)


@LOOPS
def test_the_first_ctrl_c_finishes_the_step_and_records_interrupted(loop: Loop) -> None:
    states = loop({"train.epochs": 50}, lambda: [CtrlC()])
    for state in states:
        assert state.status == "interrupted"
        assert state.epoch == 2 and len(state.history["epoch"]) <= 2
        assert all(torch.isfinite(p).all() for p in state.model.parameters())


class StepSizes(Callback):
    """The norm of each optimizer step's change to the member's weights."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self._before: list[torch.Tensor] = []

    def on_batch_begin(self, state: TrainState) -> None:
        self._before = [p.detach().clone() for p in state.model.parameters()]

    def on_batch_end(self, state: TrainState) -> None:
        moved = [
            p.detach() - b for p, b in zip(state.model.parameters(), self._before, strict=True)
        ]
        self.steps.append(float(torch.linalg.vector_norm(torch.cat([m.flatten() for m in moved]))))


@LOOPS
def test_clipping_bounds_every_step(loop: Loop) -> None:
    """Plain SGD with lr 1 moves the weights by exactly the clipped gradient: its norm is the
    step's size."""
    seen: list[StepSizes] = []

    def callbacks() -> list[Callback]:
        seen.append(StepSizes())
        return [seen[-1]]

    loop({"train.grad_clip": {"norm": 0.05}, "train.epochs": 2,
          "train.optimizer": {"name": "sgd", "lr": 1.0}}, callbacks)  # fmt: skip
    steps = [n for cb in seen for n in cb.steps]
    assert len(steps) >= 2 * len(seen) and max(steps) <= 0.05 * (1 + 1e-3)
    assert max(steps) > 0.04  # the bound binds: without it the steps would be larger
