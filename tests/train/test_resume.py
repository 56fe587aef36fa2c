"""``hone run --resume``: a run continued from its checkpoint ends exactly where an
uninterrupted run ends (weights, history, early stopping, schedules, RNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import hone
from hone.api import resume
from hone.errors import StoreError
from hone.store import RunStore
from hone.train.callbacks import Callback
from hone.train.resume import CHECKPOINT_FILE
from hone.train.state import TrainState
from tests.conftest import tiny


class StopAfter(Callback):
    """Requests an interrupt as Ctrl-C does; the run stops one batch into the next epoch."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch == self.epoch:
            state.interrupt_requested = True


# Each config exercises state a resumed run must restore: optimizer moments, schedule
# position, early stopping's best weights, dropout masks (torch's global RNG), augmentation.
CASES: dict[str, dict[str, Any]] = {
    "adam+cosine+warmup": {
        "train.schedule": {"name": "cosine", "warmup_epochs": 2},
        "model.dropout": 0.3,
        "train.l2": 1e-3,
    },
    "sgd momentum+plateau+early stopping": {
        "train.optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
        "train.schedule": {"name": "reduce_on_plateau", "patience": 1},
        "train.early_stopping": {"patience": 50},
    },
    "one_cycle per step": {"train.schedule": {"name": "one_cycle"}, "train.batch_size": 16},
    "regression on standardised targets": {
        "data": {"dataset": "regression", "params": {"n_samples": 200}, "split": "6:2:2"},
        "train.early_stopping": {"patience": 50},
    },
    "image augmentation": {
        "data": {"dataset": "digits", "split": "6:2:2"},
        "train.augment": {"translate": 0.1, "noise": 0.05},
        "model.norm": "batch",
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_resumed_run_equals_an_uninterrupted_one(tmp_path: Path, case: str) -> None:
    config = tiny(**{"train.epochs": 9, "train.checkpoint_every": 2, **CASES[case]})
    whole = hone.run(config, store=tmp_path / "a")
    cut = hone.run(config, store=tmp_path / "b", callbacks=[StopAfter(5)])
    assert cut.status == "interrupted"
    with RunStore(tmp_path / "b") as rs:
        assert (rs.run_dir(cut.run_id) / CHECKPOINT_FILE).is_file()
    done = resume(cut.run_id, store=tmp_path / "b")
    assert done.run_id == cut.run_id and done.status == "completed"
    assert done.notes["resumed_from_epoch"] in (2, 4)
    assert whole.model is not None and done.model is not None
    for (name, a), b in zip(whole.model.state_dict().items(), done.model.state_dict().values(),
                            strict=True):  # fmt: skip
        assert torch.equal(a, b), name
    assert done.metrics == pytest.approx(whole.metrics, abs=1e-12)
    with RunStore(tmp_path / "b") as rs:
        history = rs.get_run(done.run_id).history
        assert not (rs.run_dir(done.run_id) / CHECKPOINT_FILE).exists()  # removed when done
    assert history["epoch"] == list(range(1, 10))  # continuous: nothing missing or doubled
    for key, values in whole.history.items():
        if key != "epoch_seconds":
            assert history[key] == pytest.approx(values, nan_ok=True), key


def test_completed_run_and_run_without_checkpoint_are_refused(tmp_path: Path) -> None:
    done = hone.run(tiny(), store=tmp_path)
    with pytest.raises(StoreError, match=r"nothing to resume.*init_from"):
        resume(done.run_id, store=tmp_path)
    early = hone.run(tiny(**{"train.checkpoint_every": 50}), store=tmp_path,
                     callbacks=[StopAfter(2)])  # fmt: skip
    with pytest.raises(StoreError, match=r"no checkpoint.*checkpoint_every"):
        resume(early.run_id, store=tmp_path)


def test_damaged_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    cut = hone.run(tiny(**{"train.checkpoint_every": 1}), store=tmp_path, callbacks=[StopAfter(2)])
    with RunStore(tmp_path) as rs:
        (rs.run_dir(cut.run_id) / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(StoreError, match=r"checkpoint\.pt is damaged"):
        resume(cut.run_id, store=tmp_path)
