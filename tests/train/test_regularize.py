from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import hone
from hone.train.regularize import Penalty, penalized_parameters
from tests.conftest import tiny


def test_gradients_are_lambda_sign_w_and_lambda_w() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.5, -1.0, 2.0]] * 4))
    params = penalized_parameters(model, include_bias=False)
    assert [p.shape for p in params] == [torch.Size([4, 3]), torch.Size([2, 4])]
    Penalty(params, l1=0.1, l2=0.0)().sum().backward()
    assert torch.allclose(model[0].weight.grad, 0.1 * torch.sign(model[0].weight))
    assert model[0].bias.grad is None and model[1].weight.grad is None  # biases, norms excluded
    model.zero_grad()
    Penalty(params, l1=0.0, l2=0.3)().sum().backward()
    assert torch.allclose(model[0].weight.grad, 0.3 * model[0].weight)


def test_penalty_value() -> None:
    w = nn.Parameter(torch.tensor([[1.0, -2.0], [3.0, 0.0]]))
    assert Penalty([w], l1=0.5, l2=0.2)().detach().tolist() == pytest.approx([0.5 * 6, 0.1 * 14])


def test_regularize_bias_includes_every_parameter() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert len(penalized_parameters(model, include_bias=True)) == 4


def test_penalty_is_recorded_and_shrinks_weights(tmp_path: Path) -> None:
    plain = hone.run(tiny(**{"train.epochs": 10}), store=str(tmp_path))
    l2 = hone.run(tiny(**{"train.epochs": 10, "train.l2": 0.05}), store=str(tmp_path))
    assert "train_penalty" in l2.history and "train_penalty" not in plain.history
    assert all(p > 0 for p in l2.history["train_l2"]) and set(l2.history["train_l1"]) == {0.0}
    assert l2.history["train_penalty"] == pytest.approx(l2.history["train_l2"])
    assert plain.model is not None and l2.model is not None

    def norm(m: nn.Module) -> float:
        return float(sum(p.detach().pow(2).sum() for n, p in m.named_parameters() if "weight" in n))

    assert norm(l2.model) < norm(plain.model)
