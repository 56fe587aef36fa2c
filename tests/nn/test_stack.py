"""Stacked members compute what each member computes alone, and share its parameters."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from hone.config import load_config
from hone.nn.build import build_model
from hone.nn.stack import stack_models, unstackable


def _members(k: int = 3, **model: object) -> list[nn.Module]:
    cfg = load_config({"data": {"dataset": "blobs"}, "model": {"hidden": [16, 8], **model}})
    out = []
    for seed in range(k):
        torch.manual_seed(seed)
        out.append(build_model(cfg.model, (2,), 4))
    return out


@pytest.mark.parametrize("model", [{}, {"norm": "layer"}, {"activation": "tanh", "dropout": 0.2}])
def test_the_stacked_forward_equals_each_member_alone(model: dict[str, object]) -> None:
    members = _members(**model)
    alone = [copy.deepcopy(m).eval() for m in members]
    stacked = stack_models(members).eval()
    x = torch.randn(3, 7, 2)
    out = stacked(x)
    for k, ref in enumerate(alone):
        torch.testing.assert_close(out[k], ref(x[k]), atol=1e-6, rtol=1e-6)


def test_members_are_views_of_the_stacked_parameters() -> None:
    members = _members()
    before = copy.deepcopy(members[1].state_dict())
    stacked = stack_models(members)
    for name, value in before.items():  # stacking does not change a member's weights
        assert torch.equal(members[1].state_dict()[name], value)
    with torch.no_grad():
        stacked.output.weight[1].add_(1.0)
    assert torch.allclose(members[1].output.weight, before["output.weight"] + 1.0)
    members[2].load_state_dict(before)  # loading a member writes its rows
    assert torch.equal(stacked.output.weight[2], before["output.weight"])


@pytest.mark.parametrize(
    ("model", "reason"),
    [({"norm": "batch"}, "BatchNorm1d"), ({"activation": "maxout"}, "Maxout")],
)
def test_unstackable_layers_are_named(model: dict[str, object], reason: str) -> None:
    (member,) = _members(1, **model)
    assert reason in (unstackable(member) or "")
    with pytest.raises(ValueError, match=reason):
        stack_models([member, copy.deepcopy(member)])
