from __future__ import annotations

import pytest
import torch
from torch import nn

from hone.config import load_config
from hone.errors import ConfigError
from hone.nn.build import build_model, describe_model


def steps(model: nn.Module, block: str = "hidden1") -> list[str]:
    return [name for name, _ in getattr(model, block).named_children()]


def model_for(**model: object) -> nn.Sequential:
    return build_model(load_config({"model": {"hidden": [6], **model}}).model, (4,), 3)


def test_default_block_order_is_dense_norm_activation_dropout() -> None:
    assert steps(model_for(norm="batch", dropout=0.3)) == ["dense", "norm", "act", "dropout"]
    assert steps(model_for(norm="layer", norm_position="after_activation")) == [
        "dense",
        "act",
        "norm",
    ]
    assert steps(model_for()) == ["dense", "act"]  # norm none, dropout 0: steps omitted


def test_recommended_dropout_dense_batchnorm_relu_order() -> None:
    model = model_for(
        norm="batch", dropout=0.2, block_order=["dropout", "dense", "norm", "activation"]
    )
    assert steps(model) == ["dropout", "dense", "norm", "act"]
    assert isinstance(model.hidden1.norm, nn.BatchNorm1d)


def test_bad_block_order() -> None:
    with pytest.raises(ConfigError, match="block_order"):
        load_config({"model": {"block_order": ["dense", "norm"]}})
    with pytest.raises(ConfigError, match="block_order"):
        load_config({"model": {"block_order": ["dense", "activation", "dense"]}})


def test_dropout_identity_in_eval_and_mean_preserving_in_train() -> None:
    drop = model_for(dropout=0.5).hidden1.dropout
    x = torch.ones(2000, 500)
    drop.eval()
    assert torch.equal(drop(x), x)
    drop.train()
    out = drop(x)
    assert float((out == 0).float().mean()) == pytest.approx(0.5, abs=0.01)
    assert float(out.mean()) == pytest.approx(1.0, abs=0.01)  # inverted dropout keeps E[x]


def test_batchnorm_uses_running_statistics_in_eval() -> None:
    model = model_for(norm="batch")
    bn = model.hidden1.norm
    model.train()
    x = torch.randn(256, 4) * 3 + 5
    for _ in range(200):
        model(x)
    model.eval()
    pre = model.hidden1.dense(x[:2])
    expected = (pre - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    assert torch.allclose(bn(pre), expected, atol=1e-5)
    single = model(x[:1])  # a batch of one works in eval (it would fail in train)
    assert single.shape == (1, 3)


def test_cnn_from_image_shape() -> None:
    cfg = load_config(
        {
            "model": {
                "kind": "cnn",
                "conv": [
                    {"filters": 8, "kernel": 3, "pool": "max2"},
                    {"filters": 16, "kernel": 3, "stride": 1, "padding": "valid", "pool": "avg2"},
                ],
                "hidden": [32],
                "norm": "batch",
                "dropout": 0.1,
            }
        }
    )
    model = build_model(cfg.model, (1, 28, 28), 10)
    assert steps(model, "conv1") == ["conv", "norm", "act", "dropout", "pool"]
    rows = {r.name: r for r in describe_model(model, (1, 28, 28))}
    assert rows["conv1.pool"].output_shape == (8, 14, 14)
    assert rows["conv2.conv"].output_shape == (16, 12, 12)
    assert rows["conv2.pool"].output_shape == (16, 6, 6)
    assert rows["hidden1.dense"].params == 16 * 6 * 6 * 32 + 32
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)


def test_cnn_needs_images_and_conv_list() -> None:
    with pytest.raises(ConfigError, match="conv"):
        load_config({"model": {"kind": "cnn"}})
    cfg = load_config({"model": {"kind": "cnn", "conv": [{"filters": 4}]}})
    with pytest.raises(ConfigError, match="image data"):
        build_model(cfg.model, (2,), 3)


def test_describe_counts_parameters_like_torch() -> None:
    model = model_for(norm="layer", activation="maxout", pieces=3)
    rows = describe_model(model, (4,))
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())
