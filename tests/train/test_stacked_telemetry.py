"""Stacked members' forward statistics equal each member's own pass."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hone.nn.stack import stack_models
from hone.train.callbacks.telemetry import Telemetry
from hone.train.stacked_telemetry import MemberTelemetry, StackedForwardStats

K = 3


def _member(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3), nn.Sigmoid(),
    )  # fmt: skip


def _own(model: nn.Module, x: torch.Tensor) -> dict[str, dict[str, float]]:
    return Telemetry(init_batch=x)._forward_stats(model, x)


def _assert_close(got: dict[str, dict[str, float]], want: dict[str, dict[str, float]]) -> None:
    assert got.keys() == want.keys()
    for name, stats in got.items():
        assert stats == pytest.approx(want[name], rel=1e-4, abs=1e-6), name


def test_each_members_row_is_its_own_pass_until_stale() -> None:
    members = [_member(s) for s in range(K)]
    stacked = stack_models(members, own_dropout=True, flat=True)
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    shared = StackedForwardStats(stacked, x)
    for k, m in enumerate(members):
        _assert_close(shared.member(k), _own(m, x))
    assert stacked.training  # its mode is given back
    with torch.no_grad():  # a step: member 1's weights (views of the stack's) move
        members[1][0].weight.add_(0.5)
    cached = shared.member(1)
    assert cached == shared.member(1)  # not recomputed until told
    shared.stale()
    _assert_close(shared.member(1), _own(members[1], x))
    assert shared.member(1) != cached


def test_a_member_shares_only_the_same_probe_rows() -> None:
    members = [_member(s) for s in range(K)]
    stacked = stack_models(members, flat=True)
    data = torch.randn(600, 4)
    shared = StackedForwardStats(stacked, data[:512])
    same, other = MemberTelemetry(init_batch=data[:512]), MemberTelemetry(init_batch=data[1:513])
    same.share(shared, 2)
    other.share(shared, 2)
    assert same._shared is not None and other._shared is None
    assert StackedForwardStats.of_members(stacked, [[], [other]]) is not None
    assert StackedForwardStats.of_members(stacked, [[MemberTelemetry()]]) is None
