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


@pytest.mark.parametrize(
    "model",
    [{}, {"norm": "layer"}, {"norm": "batch"}, {"activation": "tanh", "dropout": 0.2}],
)
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
    [({"activation": "maxout"}, "Maxout")],
)
def test_unstackable_layers_are_named(model: dict[str, object], reason: str) -> None:
    (member,) = _members(1, **model)
    assert reason in (unstackable(member) or "")
    with pytest.raises(ValueError, match=reason):
        stack_models([member, copy.deepcopy(member)])


@pytest.mark.parametrize("momentum", [0.1, None])  # None: a cumulative average
def test_stacked_batch_norm_keeps_each_members_statistics(momentum: float | None) -> None:
    """Training steps and then eval: each member's output and running statistics are those of
    its own BatchNorm1d fed its own batches, and its buffers are views of the stacked ones."""
    members = _members(norm="batch")
    for m in members:
        for bn in m.modules():
            if isinstance(bn, nn.BatchNorm1d):
                bn.momentum = momentum
    alone = [copy.deepcopy(m) for m in members]
    stacked = stack_models(members)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = torch.randn(3, 9, 2, generator=gen) * 2 + 1
        out = stacked(x)
        for k, ref in enumerate(alone):
            torch.testing.assert_close(out[k], ref(x[k]), atol=1e-5, rtol=1e-5)
    for k, ref in enumerate(alone):
        for name, value in ref.state_dict().items():
            torch.testing.assert_close(members[k].state_dict()[name], value, atol=1e-6, rtol=1e-5)
    stacked.eval()
    x = torch.randn(3, 4, 2, generator=gen)
    out = stacked(x)
    for k, ref in enumerate(alone):
        torch.testing.assert_close(out[k], ref.eval()(x[k]), atol=1e-5, rtol=1e-5)


def test_a_one_row_batch_is_normalised_with_the_running_statistics() -> None:
    members = _members(norm="batch")
    alone = [copy.deepcopy(m) for m in members]
    stacked = stack_models(members)
    stacked(torch.randn(3, 5, 2))  # running statistics move off their start
    for k, ref in enumerate(alone):
        ref.load_state_dict(members[k].state_dict())
    x = torch.randn(3, 1, 2)
    out = stacked(x)
    for k, ref in enumerate(alone):
        torch.testing.assert_close(out[k], ref.eval()(x[k]), atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(members[k].state_dict(), ref.state_dict())  # not updated


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
def test_stacked_dropout_keeps_exactly_the_units_its_16_bit_draws_keep(
    dtype: torch.dtype,
) -> None:
    """The mask is arithmetic on the draws; it must equal the rule it implements (a signed
    16-bit draw r keeps the unit where r <= below), whatever the input's precision."""
    from hone.nn.stack import StackedDropout

    rates = [0.0, 0.5, 0.25, 1 - 1 / 65536, 0.3]
    drop = StackedDropout(rates)
    x = torch.rand(len(rates), 64, 33).add_(0.5).to(dtype)  # 33: draws not a multiple of 4
    torch.manual_seed(7)
    out = drop(x)
    torch.manual_seed(7)
    n = x.numel()
    bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), None)
    draws = bits.view(torch.int16)[:n].view(x.shape).int()
    kept = [min(65536, max(1, round((1 - r) * 65536))) for r in rates]
    below = torch.tensor([k - 32769 for k in kept]).view(-1, 1, 1)
    scale = torch.tensor([65536 / k for k in kept]).view(-1, 1, 1)
    assert out.dtype == dtype
    assert torch.equal(out != 0, draws <= below)
    assert torch.equal(out, (x * ((draws <= below) * scale).float().to(dtype)))
    drop.eval()
    assert drop(x) is x
