from __future__ import annotations

from pathlib import Path

import pytest
import torch

import hone
from hone.config import load_config
from hone.store import RunStore
from hone.train.ensemble import LR_FACTORS, combine, member_configs
from tests.conftest import tiny


def test_member_configs_vary_as_documented() -> None:
    base = load_config(tiny(**{"train.ensemble": {"members": 3, "vary": "seed"}}))
    assert [(c.seed, s) for c, s in member_configs(base)] == [(0, 0), (1, 1), (2, 2)]
    init = load_config(tiny(**{"train.ensemble": {"members": 3, "vary": "init"}}))
    assert [(c.seed, s) for c, s in member_configs(init)] == [(0, 0), (0, 1), (0, 2)]
    hyper = load_config(tiny(**{"train.ensemble": {"members": 3, "vary": "hyperparams"}}))
    lrs = [c.train.optimizer.lr for c, _ in member_configs(hyper)]
    assert lrs == pytest.approx([0.01 * f for f in LR_FACTORS[:3]])


def test_combine_mean_prob_and_vote() -> None:
    a = torch.tensor([[0.6, 0.4], [0.2, 0.8], [0.55, 0.45]])
    b = torch.tensor([[0.1, 0.9], [0.3, 0.7], [0.6, 0.4]])
    c = torch.tensor([[0.7, 0.3], [0.9, 0.1], [0.0, 1.0]])
    pred, mean = combine([a, b, c], "mean_prob", "classification")
    assert pred.tolist() == [1, 1, 1] and mean is not None
    pred, _ = combine([a, b, c], "vote", "classification")
    assert pred.tolist() == [0, 1, 0]


def test_ensemble_run_records_members_and_combined_metrics(tmp_path: Path) -> None:
    result = hone.run(tiny(**{"train.ensemble": {"members": 3}}), store=str(tmp_path))
    assert result.status == "completed" and len(result.members) == 3
    assert {"test_accuracy", "test_loss", "val_accuracy"} <= set(result.metrics)
    with RunStore(str(tmp_path)) as rs:
        record = rs.get_run(result.run_id)
        assert [m["run_id"] for m in record.extra["members"]] == [m.run_id for m in result.members]
        for member in result.members:
            assert rs.get_run(member.run_id).extra["ensemble"] == result.run_id
            rs.load_weights(member.run_id)
    assert "members" in result.to_json()
