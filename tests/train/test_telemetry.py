from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import hone
from hone.store import RunStore
from hone.train.callbacks.telemetry import (
    activation_stats,
    member_activation_stats,
    member_grad_norms,
    member_layer_stats,
)
from tests.conftest import tiny


def _reference_stats(module: nn.Module, out: torch.Tensor) -> dict[str, float]:
    """The definitions, spelled out for one member's (batch, units, ...) output."""
    flat = out.transpose(0, 1).reshape(out.shape[1], -1)
    stats = {"mean": float(out.mean()), "std": float(out.std())}
    stats["unit_std"] = float(out.reshape(out.shape[0], out.shape[1], -1).mean(2).std(1).mean())
    if isinstance(module, nn.ReLU):
        stats["dead"] = float((flat <= 0).all(dim=1).float().mean())
        stats["off"] = float((out <= 0).float().mean())
    if isinstance(module, nn.Sigmoid):
        stats["saturated"] = float(((out <= 0.02) | (out >= 0.98)).float().mean())
    return stats


@pytest.mark.parametrize("module", [nn.ReLU(), nn.Sigmoid(), nn.LeakyReLU()])
@pytest.mark.parametrize("shape", [(5, 8, 6), (4, 8, 3, 5, 5)])  # dense, conv feature maps
def test_member_stats_equal_each_members_own(module: nn.Module, shape: tuple[int, ...]) -> None:
    gen = torch.Generator().manual_seed(0)
    out = module(torch.randn(shape, generator=gen) - 0.8)
    together = member_activation_stats(module, out)
    for k in range(shape[0]):
        assert together[k] == pytest.approx(_reference_stats(module, out[k]), rel=1e-5, abs=1e-6)
        assert activation_stats(module, out[k]) == together[k]


def test_member_layer_stats_and_grad_norms_equal_each_members_own() -> None:
    gen = torch.Generator().manual_seed(1)
    w, g, before = (torch.randn(3, 4, 5, generator=gen) for _ in range(3))
    bias_grad = torch.randn(3, 4, generator=gen)
    stats = member_layer_stats(w, g, before)
    norms = member_grad_norms([g, bias_grad], 3)
    for k in range(3):
        assert stats[k]["grad_norm"] == pytest.approx(float(g[k].norm()), rel=1e-6)
        assert stats[k]["weight_norm"] == pytest.approx(float(w[k].norm()), rel=1e-6)
        ratio = float((w[k] - before[k]).norm() / w[k].norm())
        assert stats[k]["update_ratio"] == pytest.approx(ratio, rel=1e-6)
        assert stats[k]["numel"] == 20
        both = torch.cat([g[k].reshape(-1), bias_grad[k]])
        assert norms[k] == pytest.approx(float(both.norm()), rel=1e-6)
    bad = g.clone()
    bad[1, 0, 0] = float("nan")
    assert member_grad_norms([bad], 3)[1] == float("inf")


def test_activation_stats_dead_and_saturated() -> None:
    out = torch.tensor([[0.0, 1.0, 0.0], [0.0, 2.0, 0.5]])  # unit 0 is zero for every sample
    assert activation_stats(nn.ReLU(), out)["dead"] == pytest.approx(1 / 3)
    assert activation_stats(nn.ReLU(), out)["off"] == pytest.approx(3 / 6)
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
