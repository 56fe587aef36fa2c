from __future__ import annotations

from pathlib import Path

import pytest
import torch

import hone
from hone.errors import ConfigError
from hone.store import RunStore
from tests.conftest import tiny


def test_init_from_loads_matching_layers_and_reports_the_rest(tmp_path: Path) -> None:
    source = hone.run(tiny(), store=str(tmp_path))  # 4 classes
    target = tiny(
        **{"data.params": {"n_samples": 200, "centers": 3}, "model.init_from": source.run_id}
    )
    result = hone.run(
        target, store=str(tmp_path), **{"train.epochs": 1, "train.optimizer.lr": 1e-9}
    )
    with RunStore(str(tmp_path)) as rs:
        report = rs.get_run(result.run_id).extra["init_from"]
    assert report["run"] == source.run_id
    assert report["loaded"] == ["hidden1.dense.weight", "hidden1.dense.bias"]
    assert report["skipped_shape"] == [
        "output.weight (4, 16) -> (3, 16)",
        "output.bias (4,) -> (3,)",
    ]
    assert source.model is not None and result.model is not None
    assert torch.allclose(
        result.model.hidden1.dense.weight, source.model.hidden1.dense.weight, atol=1e-6
    )


def test_init_from_skip_keeps_a_fresh_head(tmp_path: Path) -> None:
    source = hone.run(tiny(), store=str(tmp_path))
    result = hone.run(tiny(**{"model.init_from": source.run_id, "model.init_from_skip": ["output"],
                              "train.epochs": 1}), store=str(tmp_path))  # fmt: skip
    with RunStore(str(tmp_path)) as rs:
        report = rs.get_run(result.run_id).extra["init_from"]
    assert report["reinitialised"] == ["output.weight", "output.bias"]
    assert report["loaded"] == ["hidden1.dense.weight", "hidden1.dense.bias"]


def test_freeze_all_but_head_and_unfreeze_later(tmp_path: Path) -> None:
    source = hone.run(tiny(), store=str(tmp_path))
    assert source.model is not None
    start = source.model.hidden1.dense.weight.detach().clone()
    frozen = hone.run(
        tiny(**{"model.init_from": source.run_id, "model.freeze": "all_but_head"}),
        store=str(tmp_path),
    )
    assert frozen.model is not None
    assert torch.equal(frozen.model.hidden1.dense.weight.detach(), start)
    with RunStore(str(tmp_path)) as rs:
        assert rs.get_run(frozen.run_id).extra["frozen"] == [
            "hidden1.dense.weight",
            "hidden1.dense.bias",
        ]
    thawed = hone.run(
        tiny(
            **{
                "model.init_from": source.run_id,
                "model.freeze": ["hidden1"],
                "train.unfreeze_at_epoch": 3,
            }
        ),
        store=str(tmp_path),
    )
    assert thawed.model is not None
    assert not torch.equal(thawed.model.hidden1.dense.weight.detach(), start)


def test_transfer_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model\.freeze: no layer hidden9"):
        hone.run(tiny(**{"model.freeze": ["hidden9"]}), store=str(tmp_path))
    with pytest.raises(ConfigError, match="nothing is frozen"):
        hone.run(tiny(**{"train.unfreeze_at_epoch": 2}), store=str(tmp_path))
    with pytest.raises(hone.StoreError, match="no run"):
        hone.run(tiny(**{"model.init_from": "nope"}), store=str(tmp_path))


def test_balanced_sampler_draws_classes_equally(tmp_path: Path) -> None:
    from hone.api import build_run
    from hone.config import load_config
    from tests.diagnose.scenarios import imbalanced_npz

    cfg = load_config(
        {
            "data": {"dataset": "npz", "path": imbalanced_npz(tmp_path), "sampler": "balanced"},
            "train": {"epochs": 1},
        }
    )
    built = build_run(cfg)
    assert built.sample_weights is not None and built.notes["sampler"] == "balanced"
    draws = torch.multinomial(built.sample_weights, 20000, replacement=True)
    share = float((built.data.train.y[draws] == 1).float().mean())
    assert share == pytest.approx(0.5, abs=0.02)  # 5 % of rows, half of the draws


@pytest.mark.slow
def test_fashion_head_from_mnist_converges_faster(tmp_path: Path, datasets: Path) -> None:
    """MNIST weights with a fresh output layer help Fashion-MNIST when only 1,000 images are
    labelled: higher validation accuracy in the first epochs (mean over 3 seeds)."""
    mnist = hone.run({"data": {"dataset": "mnist", "path": str(datasets / "mnist")},
                      "model": {"hidden": [256, 128], "activation": "leaky_relu"},
                      "train": {"epochs": 2, "batch_size": 64}, "telemetry": False},
                     store=str(tmp_path))  # fmt: skip
    fashion = {"data": {"dataset": "fashion_mnist", "path": str(datasets / "fashion-mnist"),
                        "split": {"train": 1000 / 60000, "val": 0.05}},
               "model": {"hidden": [256, 128], "activation": "leaky_relu"},
               "train": {"epochs": 2, "batch_size": 32, "optimizer": {"lr": 0.003}},
               "telemetry": False}  # fmt: skip

    def curve(**over: object) -> list[float]:
        runs = [hone.run(fashion, store=str(tmp_path), seed=s, **over) for s in range(3)]
        assert all(
            len(r.history["epoch"]) == 2 and len(r.history["val_accuracy"]) == 2 for r in runs
        )
        return [sum(r.history["val_accuracy"][e] for r in runs) / 3 for e in range(2)]

    scratch = curve()
    transfer = curve(**{"model.init_from": mnist.run_id, "model.init_from_skip": ["output"]})
    print(
        f"fashion val acc (1,000 images, mean of 3 seeds): scratch {scratch}, from MNIST {transfer}"
    )
    assert transfer[0] > scratch[0] and sum(transfer) > sum(scratch)


def test_init_from_a_run_whose_weights_hold_nan_is_refused_by_name(tmp_path: Path) -> None:
    # The largest constant float32 holds: the first forward pass overflows, the step NaNs.
    diverged = hone.run(tiny(**{"model.init": "constant", "model.init_value": 3e38}),
                        store=str(tmp_path))  # fmt: skip
    assert diverged.status == "diverged"
    with RunStore(str(tmp_path)) as rs:
        weights = rs.load_weights(diverged.run_id)
    assert not all(bool(torch.isfinite(w).all()) for w in weights.values())
    with pytest.raises(ConfigError, match=f"model.init_from: run {diverged.run_id}.*NaN or inf"):
        hone.run(tiny(**{"model.init_from": diverged.run_id}), store=str(tmp_path))
    with RunStore(str(tmp_path)) as rs:
        assert [r.id for r in rs.list_runs()] == [diverged.run_id]  # refused before recording
