from __future__ import annotations

import inspect

import pytest
import torch

import hone
from hone.api import build_run
from hone.config import load_config
from hone.data.base import Split
from hone.train.callbacks import Callback
from hone.train.engine import fit
from hone.train.state import TrainState
from tests.conftest import tiny


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_train_begin(self, state: TrainState) -> None:
        self.calls.append("train_begin")

    def on_epoch_begin(self, state: TrainState) -> None:
        self.calls.append(f"epoch_begin{state.epoch}")

    def on_batch_end(self, state: TrainState) -> None:
        assert state.batch_loss is not None
        self.calls.append("batch_end")

    def on_epoch_end(self, state: TrainState) -> None:
        assert state.history["epoch"][-1] == state.epoch
        self.calls.append(f"epoch_end{state.epoch}")

    def on_train_end(self, state: TrainState) -> None:
        self.calls.append(f"train_end:{state.status}")


def test_hooks_run_in_order() -> None:
    built = build_run(load_config(tiny(**{"train.epochs": 2})))
    rec = Recorder()
    state = fit(
        built.model,
        built.optimizer,
        built.loss_fn,
        built.data.train,
        built.data.val,
        epochs=2,
        batch_size=40,
        generator=built.generator,
        callbacks=[rec],
    )
    assert state.steps_per_epoch == 3  # 120 training rows / 40
    assert rec.calls == [
        "train_begin",
        "epoch_begin1",
        *["batch_end"] * 3,
        "epoch_end1",
        "epoch_begin2",
        *["batch_end"] * 3,
        "epoch_end2",
        "train_end:completed",
    ]
    assert set(state.history) >= {
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "lr",
    }


def test_the_engine_cannot_see_the_test_split() -> None:
    assert not any("test" in p for p in inspect.signature(fit).parameters)


def test_same_seed_same_numbers(tmp_path: object) -> None:
    a = hone.run(tiny(), store=str(tmp_path))
    b = hone.run(tiny(), store=str(tmp_path))
    c = hone.run(tiny(seed=1), store=str(tmp_path))

    def numbers(h: dict[str, list[float]]) -> dict[str, list[float]]:
        return {k: v for k, v in h.items() if k != "epoch_seconds"}  # wall time varies

    assert numbers(a.history) == numbers(b.history) and a.metrics == b.metrics
    assert a.history["train_loss"] != c.history["train_loss"]


def test_training_learns_and_history_is_per_epoch(tmp_path: object) -> None:
    result = hone.run(tiny(**{"train.epochs": 20}), store=str(tmp_path))
    assert result.status == "completed" and result.epochs_run == 20
    assert len(result.history["train_loss"]) == 20
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    assert not any(
        k.startswith("test_") for k in result.history
    )  # test is evaluated once, at the end
    assert result.metrics["test_accuracy"] > 0.5  # chance is 0.25 (4 blobs)


def test_a_capped_epoch_trains_the_first_batches_of_its_order_as_a_plain_loop_does() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(23, 3), torch.randint(0, 2, (23,))
    model, twin = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    twin.load_state_dict(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.functional.cross_entropy
    state = fit(model, opt, loss_fn, Split(x, y), None, epochs=2, batch_size=4,
                generator=torch.Generator().manual_seed(7), steps_per_epoch=3)  # fmt: skip
    # by hand: each epoch draws its order, then steps on its first 3 batches of 4 rows
    hand, gen, losses = torch.optim.SGD(twin.parameters(), lr=0.1), torch.Generator(), []
    gen.manual_seed(7)
    for _ in range(2):
        order, batch = torch.randperm(23, generator=gen), []
        for b in range(3):
            idx = order[4 * b : 4 * b + 4]
            loss = loss_fn(twin(x[idx]), y[idx])
            hand.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            hand.step()
            batch.append(loss.item())
        losses.append(sum(batch) / 3)
    assert state.step == 6 and state.steps_per_epoch == 3
    assert state.history["train_loss"] == pytest.approx(losses, rel=1e-6)
    assert torch.allclose(model.weight, twin.weight) and torch.allclose(model.bias, twin.bias)


def test_steps_per_epoch_beyond_an_epoch_changes_nothing(tmp_path: object) -> None:
    whole = hone.run(tiny(**{"train.epochs": 2}), store=str(tmp_path))
    capped = hone.run(tiny(**{"train.epochs": 2, "train.steps_per_epoch": 99}), store=str(tmp_path))
    assert capped.history["train_loss"] == whole.history["train_loss"]
    short = hone.run(tiny(**{"train.epochs": 2, "train.steps_per_epoch": 1}), store=str(tmp_path))
    assert short.status == "completed" and short.epochs_run == 2
    assert short.history["train_loss"] != whole.history["train_loss"]


def test_full_batch_and_batch_one(tmp_path: object) -> None:
    full = hone.run(tiny(**{"train.batch_size": "full", "train.epochs": 2}), store=str(tmp_path))
    assert full.epochs_run == 2
    one = hone.run(tiny(**{"train.batch_size": 1, "train.epochs": 1}), store=str(tmp_path))
    assert one.status == "completed"


def test_nan_loss_stops_as_diverged(tmp_path: object) -> None:
    result = hone.run(
        tiny(**{"train.optimizer": {"name": "sgd", "lr": 1e6}, "train.epochs": 50}),
        store=str(tmp_path),
    )
    assert result.status == "diverged"
    assert "epoch 1, step" in result.message and result.epochs_run == 0
    from hone.store import RunStore

    with RunStore(str(tmp_path)) as rs:
        record = rs.get_run(result.run_id)
    assert record.status == "diverged" and record.extra["diverged_at"][0] == 1


class StopAfter(Callback):
    """Does what the Ctrl-C handler does: request an interrupt."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch == self.epoch:
            state.interrupt_requested = True

    def on_batch_end(self, state: TrainState) -> None:
        pass


def test_interrupt_request_keeps_history_and_weights(tmp_path: object) -> None:
    result = hone.run(tiny(**{"train.epochs": 100}), store=str(tmp_path), callbacks=[StopAfter(3)])
    assert result.status == "interrupted" and result.epochs_run == 3
    from hone.store import RunStore

    with RunStore(str(tmp_path)) as rs:
        assert rs.get_run(result.run_id).history["epoch"] == [1, 2, 3]
        weights = rs.load_weights(result.run_id)
    assert result.model is not None
    for name, tensor in result.model.state_dict().items():
        assert torch.equal(weights[name], tensor.cpu())


def test_exception_in_training_is_recorded_as_failed(tmp_path: object) -> None:
    class Boom(Callback):
        def on_epoch_end(self, state: TrainState) -> None:
            if state.epoch == 2:
                raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        hone.run(tiny(), store=str(tmp_path), callbacks=[Boom()])
    from hone.store import RunStore

    with RunStore(str(tmp_path)) as rs:
        (record,) = rs.list_runs()
        assert record.status == "failed" and "boom" in record.message
        assert rs.history(record.id)["epoch"] == [1, 2]
