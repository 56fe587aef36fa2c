"""Stacked members' telemetry: samples computed together equal samples computed one step at a
time, and a member's samples end at its first non-finite one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from hone.config import load_config
from hone.nn.stack import stack_models
from hone.runs.stacking import run_stacked
from hone.store import RunStore
from hone.train import stacked_telemetry
from hone.train.stacked_telemetry import (
    MemberTelemetry,
    SampledSteps,
    StackedProbe,
    stacked_layers,
)
from hone.train.state import TrainState
from tests.conftest import tiny

K = 3


def _member(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3), nn.Sigmoid(),
    )  # fmt: skip


def _flat(tree: dict[str, Any], path: str = "") -> dict[str, Any]:
    """A nested record's leaves by their dotted path."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{path}{key}."))
        else:
            out[path + key] = value
    return out


def _telemetry(store: Path, **overrides: Any) -> list[dict[str, Any]]:
    configs = [load_config(tiny(**overrides, seed=s)) for s in range(K)]
    results = run_stacked(configs, store)
    with RunStore(store) as rs:
        return [rs.load_json(r.run_id, "telemetry.json") for r in results]


@pytest.mark.parametrize(
    "overrides",
    [
        {"train.epochs": 3},  # 120 rows in batches of 32: every step sampled, the last smaller
        {"train.epochs": 3, "train.optimizer": {"name": "sgd", "lr": 80.0}},  # exploding
    ],
)
def test_samples_computed_together_equal_samples_computed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any]
) -> None:
    together = _telemetry(tmp_path / "together", **overrides)
    monkeypatch.setattr(stacked_telemetry, "STASH_BYTES", 0)  # every sample on its own
    at_once = _telemetry(tmp_path / "at_once", **overrides)
    for mine, theirs in zip(together, at_once, strict=True):
        assert mine["non_finite_at"] == theirs["non_finite_at"]
        assert len(mine["samples"]) == len(theirs["samples"]) > 0
        for a, b in zip(mine["samples"], theirs["samples"], strict=True):
            assert _flat(a) == pytest.approx(_flat(b), rel=1e-6, abs=1e-9, nan_ok=True)


def test_a_members_samples_end_at_its_first_non_finite_one() -> None:
    members = [_member(s) for s in range(K)]
    stacked = stack_models(members, own_dropout=True, flat=True)
    params = list(stacked.parameters())
    layers = stacked_layers(members[0], params)
    telemetries = [MemberTelemetry() for _ in range(K)]
    states = []
    for m in members:
        state = TrainState(m, torch.optim.SGD(m.parameters(), lr=0.1), 1, 3)
        state.epoch = 1
        states.append(state)
    steps = SampledSteps(stacked)
    x, y = torch.randn(K, 8, 4), torch.randint(0, 3, (K, 8))
    for step in range(3):
        probe = StackedProbe(stacked, layers, list(range(K)))
        loss = nn.functional.cross_entropy(stacked(x).transpose(1, 2), y, reduction="none")
        loss = loss.mean(1)
        loss.sum().backward()
        if step == 1:  # member 1's gradient overflows
            params[0].grad[1].fill_(float("inf"))
        for state in states:
            state.step += 1
        probe.finish(telemetries, states, params, loss.detach(), steps)
        stacked.zero_grad(set_to_none=True)
    assert all(not t.records for t in telemetries)  # waiting: nothing computed yet
    steps.flush()
    assert [len(t.records) for t in telemetries] == [3, 2, 3]
    assert telemetries[1].non_finite_at == (1, 2) and not telemetries[1].records[-1]["finite"]
    assert [r["step"] for r in telemetries[0].records] == [1, 2, 3]


def test_members_sampled_alone_record_what_they_record_sampled_with_all() -> None:
    members = [_member(s) for s in range(K)]
    stacked = stack_models(members, own_dropout=True, flat=True)
    params = list(stacked.parameters())
    start = [p.detach().clone() for p in params]
    x, y = torch.randn(K, 8, 4), torch.randint(0, 3, (K, 8))

    def sampled(ks: list[int]) -> list[MemberTelemetry]:
        with torch.no_grad():
            for p, p0 in zip(params, start, strict=True):
                p.copy_(p0)
        telemetries = [MemberTelemetry() for _ in range(K)]
        states = [TrainState(m, torch.optim.SGD(m.parameters(), lr=0.1), 1, 1) for m in members]
        steps = SampledSteps(stacked)
        torch.manual_seed(0)  # the same dropout masks
        probe = StackedProbe(stacked, stacked_layers(members[0], params), ks)
        loss = nn.functional.cross_entropy(stacked(x).transpose(1, 2), y, reduction="none")
        loss.mean(1).sum().backward()
        with torch.no_grad():
            for p in params:
                p -= 0.1 * p.grad
        probe.finish(telemetries, states, params, loss.detach().mean(1), steps)
        stacked.zero_grad(set_to_none=True)
        steps.flush()
        return telemetries

    every, some = sampled(list(range(K))), sampled([0, 2])
    assert [len(t.records) for t in some] == [1, 0, 1]
    for k in (0, 2):
        mine, theirs = some[k].records[0], every[k].records[0]
        assert _flat(mine) == pytest.approx(_flat(theirs), rel=1e-6, abs=1e-9)
