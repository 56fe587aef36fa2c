from __future__ import annotations

import pytest
import torch

from hone.config import load_config
from hone.errors import ConfigError
from hone.nn.activations import ACTIVATIONS, Maxout, make_activation
from hone.nn.build import build_model


def test_maxout_against_hand_computation() -> None:
    x = torch.tensor([[1.0, -2.0, 3.0, 0.5, -1.0, -0.5]])  # 2 units x 3 pieces
    assert Maxout(3)(x).tolist() == [[3.0, 0.5]]
    maps = torch.arange(2 * 4 * 1 * 1, dtype=torch.float32).view(2, 4, 1, 1)  # 2 channels x 2
    assert Maxout(2)(maps).view(2, 2).tolist() == [[1.0, 3.0], [5.0, 7.0]]


def test_maxout_is_a_real_unit_in_the_model() -> None:
    cfg = load_config({"model": {"hidden": [5], "activation": "maxout", "pieces": 4}})
    model = build_model(cfg.model, (3,), 2)
    assert model.hidden1.dense.out_features == 20 and model.output.in_features == 5
    x = torch.randn(7, 3)
    pre = model.hidden1.dense(x)
    expected = pre.view(7, 5, 4).max(dim=2).values
    assert torch.equal(model.hidden1.act(pre), expected)


def test_parameters_reach_the_modules() -> None:
    assert make_activation("leaky_relu", negative_slope=0.02).negative_slope == 0.02
    assert make_activation("elu", alpha=0.5).alpha == 0.5
    x = torch.tensor([-1.0, 2.0])
    assert make_activation("leaky_relu", negative_slope=0.02)(x).tolist() == pytest.approx(
        [-0.02, 2.0]
    )


def test_every_activation_runs() -> None:
    for name in ACTIVATIONS:
        out = make_activation(name, pieces=2)(torch.randn(4, 6))
        assert torch.isfinite(out).all()


def test_unknown_activation_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match="maxout"):
        load_config({"model": {"activation": "swishy"}})
