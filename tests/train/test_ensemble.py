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


@pytest.mark.parametrize("vary", ["seed", "init"])
def test_stacked_members_equal_members_trained_one_by_one(tmp_path: Path, vary: str) -> None:
    """``vary: seed`` and ``vary: init`` members train as one stacked model; each member
    and the ensemble record what they would alone (within float rounding)."""
    cfg = tiny(**{"train.ensemble": {"members": 3, "vary": vary}, "train.epochs": 3})
    stacked = hone.run(cfg, store=str(tmp_path / "a"))
    alone = hone.run(cfg, store=str(tmp_path / "b"), stack="off")
    assert stacked.notes == {"stacked": 3} and alone.notes == {}
    for s, a in zip(stacked.members, alone.members, strict=True):
        assert s.status == a.status == "completed"
        assert s.history["train_loss"][0] == pytest.approx(a.history["train_loss"][0], abs=1e-6)
        assert s.metrics == pytest.approx(a.metrics, abs=1e-4)
    assert stacked.metrics == pytest.approx(alone.metrics, abs=1e-4)
    with RunStore(str(tmp_path / "a")) as rs:
        record = rs.get_run(stacked.members[1].run_id)
        assert record.extra["ensemble"] == stacked.run_id
        assert record.extra["stacked"]["members"] == 3
        assert rs.get_run(stacked.run_id).extra["stacked"] == 3


def test_members_that_cannot_stack_say_why(tmp_path: Path) -> None:
    cfg = tiny(**{"train.ensemble": {"members": 2, "vary": "hyperparams"}, "train.epochs": 1})
    result = hone.run(cfg, store=str(tmp_path))
    assert "learning rate" in result.notes["not_stacked"]
    augmented = tiny(**{"train.ensemble": {"members": 2}, "train.epochs": 1,
                        "train.augment": {"noise": 0.1}})  # fmt: skip
    assert "augment" in hone.run(augmented, store=str(tmp_path)).notes["not_stacked"]
