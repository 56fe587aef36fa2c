from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import hone
from hone.store import RunStore
from hone.train.callbacks.telemetry import activation_stats
from tests.conftest import tiny


def test_activation_stats_dead_and_saturated() -> None:
    out = torch.tensor([[0.0, 1.0, 0.0], [0.0, 2.0, 0.5]])  # unit 0 is zero for every sample
    assert activation_stats(nn.ReLU(), out)["dead"] == pytest.approx(1 / 3)
    assert "dead" not in activation_stats(nn.LeakyReLU(), out)  # leaky units still pass gradient
    sig = torch.tensor([[0.01, 0.5], [0.99, 0.97]])
    assert activation_stats(nn.Sigmoid(), sig)["saturated"] == pytest.approx(0.5)
    tanh = torch.tensor([[-0.99, 0.0, 0.985, 0.5]])
    assert activation_stats(nn.Tanh(), tanh)["saturated"] == pytest.approx(0.5)


def test_run_records_telemetry_samples_and_init_scale(tmp_path: Path) -> None:
    result = hone.run(
        tiny(**{"train.epochs": 3, "train.batch_size": 8, "model.hidden": [8, 8]}),
        store=str(tmp_path),
    )
    with RunStore(str(tmp_path)) as rs:
        tele = rs.load_json(result.run_id, "telemetry.json")
    assert len(tele["samples"]) == 3 * 4  # 15 steps per epoch, sampled 4 times each
    sample = tele["samples"][0]
    assert set(sample["layers"]) == {"hidden1.dense", "hidden2.dense", "output"}
    assert {"grad_norm", "weight_norm", "update_ratio", "numel"} <= set(sample["layers"]["output"])
    assert sample["lr"] == 0.01 and sample["grad_norm"] > 0
    assert set(tele["at_init"]) == {"hidden1.act", "hidden2.act"}
    assert {"mean", "std", "dead"} <= set(tele["at_init"]["hidden1.act"])
    assert set(tele["at_end"]) == {"hidden1.act", "hidden2.act"}


def test_update_ratio_is_the_step_size_relative_to_the_weights(tmp_path: Path) -> None:
    result = hone.run(
        tiny(**{"train.epochs": 1, "train.optimizer": {"name": "sgd", "lr": 0.1}}),
        store=str(tmp_path),
    )
    with RunStore(str(tmp_path)) as rs:
        tele = rs.load_json(result.run_id, "telemetry.json")
    out = tele["samples"][0]["layers"]["output"]
    # Plain SGD: |update| = lr * |grad|.
    assert out["update_ratio"] == pytest.approx(
        0.1 * out["grad_norm"] / out["weight_norm"], rel=0.05
    )


def test_telemetry_false_records_none(tmp_path: Path) -> None:
    result = hone.run(tiny(telemetry=False), store=str(tmp_path))
    assert not (tmp_path / "runs" / result.run_id / "telemetry.json").exists()


def test_long_runs_keep_telemetry_within_budget(tmp_path: Path) -> None:
    from hone.train.callbacks import Telemetry

    result = hone.run(tiny(**{"train.epochs": 100, "train.batch_size": 40}), store=str(tmp_path))
    with RunStore(str(tmp_path)) as rs:
        tele = rs.load_json(result.run_id, "telemetry.json")
    epochs = sorted({s["epoch"] for s in tele["samples"]})
    assert len(tele["samples"]) <= Telemetry().budget and epochs[-1] == 100  # the last is kept
    assert epochs[:3] == [2, 4, 6]  # 100 epochs x 3 samples > 256: every 2nd epoch
