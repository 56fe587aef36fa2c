"""Deferred evaluation: a tune trial evaluates the split it is judged on; the rest is done,
exactly as a full run does it, the first time something reads the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hone
from hone.runs import evidence_of
from hone.runs.deferred import DEFERRED, complete_evaluation
from hone.store import RunStore
from tests.cli.test_app import cli
from tests.conftest import tiny


def _pair(tmp_path: Path) -> tuple[hone.RunResult, hone.RunResult]:
    cfg = tiny(**{"train.epochs": 3, "telemetry": False})
    full = hone.run(cfg, store=tmp_path / "full")
    deferred = hone.run(cfg, store=tmp_path / "lazy", evaluate=("val",))
    return full, deferred


def test_only_the_judged_split_is_evaluated_then_the_rest_on_demand(tmp_path: Path) -> None:
    full, lazy = _pair(tmp_path)
    assert set(lazy.metrics) == {"val_loss", "val_accuracy", "val_balanced_accuracy"}
    assert lazy.metrics["val_accuracy"] == full.metrics["val_accuracy"]
    with RunStore(tmp_path / "lazy") as rs:
        record = rs.get_run(lazy.run_id)
        assert record.extra[DEFERRED] == ["train", "test"]
        assert not (rs.run_dir(lazy.run_id) / "evaluation.json").exists()
        finished = record.finished
        assert complete_evaluation(rs, lazy.run_id) is None
        done = rs.get_run(lazy.run_id)
        assert DEFERRED not in done.extra and done.finished == finished
        assert done.metrics == pytest.approx(full.metrics, abs=0)
        evaluation = rs.load_json(lazy.run_id, "evaluation.json")
    with RunStore(tmp_path / "full") as rs:
        assert evaluation == rs.load_json(full.run_id, "evaluation.json")
        run_json = json.loads((rs.run_dir(full.run_id) / "run.json").read_text())
    assert set(run_json["metrics"]) == set(done.metrics)


def test_diagnosis_and_runs_show_complete_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lazy = _pair(tmp_path)
    with RunStore(tmp_path / "lazy") as rs:
        evidence = evidence_of(rs, lazy.run_id)
    assert "test_accuracy" in evidence.metrics and set(evidence.evaluation) >= {"train", "val"}
    _, second = _pair(tmp_path)
    code, out, _ = cli(
        capsys, "runs", "show", second.run_id, "--store", str(tmp_path / "lazy"), "--json"
    )
    assert code == 0 and "test_accuracy" in json.loads(out)["metrics"]


def test_a_run_that_cannot_be_rebuilt_keeps_its_record_and_says_why(tmp_path: Path) -> None:
    _, lazy = _pair(tmp_path)
    with RunStore(tmp_path / "lazy") as rs:
        (rs.run_dir(lazy.run_id) / "weights.safetensors").unlink()
        why = complete_evaluation(rs, lazy.run_id)
        record = rs.get_run(lazy.run_id)
        evidence = evidence_of(rs, lazy.run_id)  # diagnosis still judges what is there
    assert why and "weights" in why
    assert record.extra[DEFERRED] == ["train", "test"] and record.status == "completed"
    assert evidence.metrics["val_accuracy"] == lazy.metrics["val_accuracy"]


def test_data_from_python_is_never_deferred(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 2)).astype("float32"), rng.integers(0, 2, 120)
    cfg = tiny(**{"train.epochs": 1, "telemetry": False})
    r = hone.run(cfg, data=(x, y), store=tmp_path, evaluate=("val",))
    assert "test_accuracy" in r.metrics
