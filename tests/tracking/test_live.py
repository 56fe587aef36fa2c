"""``log_to: [tensorboard, mlflow]``: curves reach both tools while the run trains, and the full
record when it ends; a tracking tool that fails never stops training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hone
from hone.errors import ConfigError
from hone.store import RunStore
from hone.train.callbacks import Callback
from hone.train.state import TrainState
from tests.conftest import tiny

pytest.importorskip("mlflow", reason="pip install 'hone[tracking]'")
pytest.importorskip("tensorboard", reason="pip install 'hone[tracking]'")


def _mlflow_runs(uri: str, experiment: str) -> list[Any]:
    from mlflow.tracking import MlflowClient

    mlf = MlflowClient(tracking_uri=uri)
    found = mlf.get_experiment_by_name(experiment)
    return [] if found is None else list(mlf.search_runs([found.experiment_id]))


class PeekAt(Callback):
    """At ``epoch``, reads what MLflow holds so far for this run."""

    def __init__(self, epoch: int, uri: str) -> None:
        self.epoch, self.uri = epoch, uri
        self.seen: dict[str, float] = {}

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch == self.epoch:
            (run,) = _mlflow_runs(self.uri, "live")
            self.seen = dict(run.data.metrics)
            self.seen["status_running"] = float(run.info.status == "RUNNING")


def test_curves_arrive_while_training_and_the_full_record_at_the_end(
    store: Path, tmp_path: Path
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    peek = PeekAt(3, uri)
    config = tiny(**{"name": "live", "train.epochs": 6,
                     "log_to": {"mlflow": uri, "tensorboard": str(tmp_path / "tb")}})  # fmt: skip
    result = hone.run(config, store=str(store), callbacks=[peek])
    assert result.status == "completed"
    assert peek.seen["status_running"] == 1.0 and "train_loss" in peek.seen  # live, mid-run
    (run,) = _mlflow_runs(uri, "live")  # the live run was replaced by the full record
    assert run.info.status == "FINISHED" and run.data.tags["hone.run_id"] == result.run_id
    assert run.data.metrics["final/val_accuracy"] == pytest.approx(result.metrics["val_accuracy"])
    acc = EventAccumulator(str(tmp_path / "tb" / result.run_id))
    acc.Reload()
    steps = [e.step for e in acc.Scalars("epoch/val_loss")]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert "final/test_accuracy" in acc.Tags()["scalars"]


def test_tensorboard_defaults_to_the_store(store: Path) -> None:
    result = hone.run(tiny(**{"log_to": ["tensorboard"], "train.epochs": 2}), store=str(store))
    assert list((store / "tensorboard" / result.run_id).glob("events.out.tfevents.*"))


def test_a_failing_tracking_target_warns_and_training_goes_on(store: Path) -> None:
    config = tiny(**{"log_to": {"mlflow": "nosuchscheme://x"}, "train.epochs": 2})
    result = hone.run(config, store=str(store))
    assert result.status == "completed"
    with RunStore(store) as rs:
        warnings = rs.get_run(result.run_id).extra["log_to_warnings"]
    assert "log_to: mlflow stopped logging" in warnings[0]


def test_log_to_names_are_checked(store: Path) -> None:
    with pytest.raises(ConfigError, match="log_to"):
        hone.run(tiny(**{"log_to": ["wandb"]}), store=str(store))
