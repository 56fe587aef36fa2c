"""Early stopping on scripted metric sequences, and restore-best in real runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import hone
from hone.errors import ConfigError
from hone.train.callbacks import EarlyStopping
from hone.train.state import TrainState
from tests.conftest import tiny


def play(es: EarlyStopping, values: list[float], monitor: str = "val_loss") -> TrainState:
    """Feed a metric sequence; the model's weight is set to the epoch number each epoch."""
    model = nn.Linear(1, 1, bias=False)
    state = TrainState(model, torch.optim.SGD(model.parameters(), lr=0.1), len(values), 1)
    es.on_train_begin(state)
    for epoch, value in enumerate(values, start=1):
        state.epoch = epoch
        with torch.no_grad():
            model.weight.fill_(epoch)
        state.logs = {monitor: value}
        es.on_epoch_end(state)
        if state.stop_training:
            break
    state.status = "completed"
    es.on_train_end(state)
    return state


def weight(state: TrainState) -> float:
    return float(state.model.weight.detach())  # type: ignore[arg-type]


def test_patience() -> None:
    state = play(EarlyStopping(patience=2), [1.0, 0.8, 0.9, 0.85, 0.7])
    assert state.stop_training and state.epoch == 4 and "epoch 2" in state.stop_reason
    assert weight(state) == 2.0  # best weights restored


def test_min_delta_requires_a_real_improvement() -> None:
    state = play(EarlyStopping(patience=2, min_delta=0.05), [1.0, 0.97, 0.96, 0.5])
    assert state.stop_training and state.epoch == 3 and weight(state) == 1.0


def test_mode_max_and_auto_for_accuracy() -> None:
    assert EarlyStopping("val_accuracy").mode == "max" and EarlyStopping("val_loss").mode == "min"
    state = play(EarlyStopping("val_accuracy", patience=1), [0.5, 0.7, 0.6], monitor="val_accuracy")
    assert state.epoch == 3 and weight(state) == 2.0
    state = play(EarlyStopping("score", mode="max", patience=1), [1, 2, 1], monitor="score")
    assert state.stop_training and weight(state) == 2.0


def test_start_from_epoch_ignores_early_epochs() -> None:
    state = play(EarlyStopping(patience=1, start_from_epoch=3), [0.1, 0.9, 0.95, 0.8, 0.7, 0.75])
    assert state.epoch == 6 and weight(state) == 5.0  # epoch 1's 0.1 never counted


def test_restore_best_when_the_stop_never_fires() -> None:
    state = play(EarlyStopping(patience=10), [1.0, 0.5, 0.7, 0.8])
    assert not state.stop_training and weight(state) == 2.0
    assert state.info["early_stopping"]["restored"] is True
    state = play(EarlyStopping(patience=10, restore_best=False), [1.0, 0.5, 0.7, 0.8])
    assert weight(state) == 4.0


def test_nan_is_never_an_improvement() -> None:
    state = play(EarlyStopping(patience=1), [1.0, float("nan"), 0.5])
    assert state.stop_training and state.epoch == 2 and weight(state) == 1.0


def test_real_run_stops_and_restores(tmp_path: Path) -> None:
    cfg = tiny(
        **{"model.hidden": [64, 64], "train.epochs": 300, "train.early_stopping": {"patience": 5}}
    )
    result = hone.run(cfg, store=str(tmp_path))
    assert result.status == "completed" and result.epochs_run < 300
    assert result.message.startswith("early stopping at epoch")
    best = min(result.history["val_loss"])
    assert result.metrics["val_loss"] == pytest.approx(best, rel=1e-5)


def test_monitor_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a validation split"):
        hone.run(tiny(**{"data.split": "8:2", "train.early_stopping": {}}), store=str(tmp_path))
    with pytest.raises(ConfigError, match="did you mean 'val_accuracy'"):
        hone.run(tiny(**{"train.early_stopping": {"monitor": "val_acuracy"}}), store=str(tmp_path))
