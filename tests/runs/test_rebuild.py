"""Runs recorded before issue 37 (no ``data.preprocess.target_scale`` in their config; ``data.task:
auto`` meaning classification for a CSV) rebuild, resume and predict as they trained."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import hone
from hone.api import resume
from hone.store import RunStore
from tests.cli.test_app import cli
from tests.cli.test_regression import price_table, write_csv
from tests.train.test_resume import StopAfter

REGRESSION = {
    "data": {"dataset": "regression", "params": {"n_samples": 200}, "split": "6:2:2",
             "preprocess": {"target_scale": "none"}},
    "model": {"hidden": [8]},
    "train": {"epochs": 6, "checkpoint_every": 2, "loss": "mse"},
}  # fmt: skip


def as_recorded_before(store: Path, run_id: str, **data: Any) -> None:
    """Rewrite the run's stored config as hone recorded it before target scaling existed."""
    with RunStore(store) as rs:
        config = rs.get_run(run_id, with_history=False).config
    del config["data"]["preprocess"]["target_scale"]
    config["data"].update(data)
    with sqlite3.connect(store / "runs.db") as db:
        db.execute("UPDATE runs SET config = ? WHERE id = ?", (json.dumps(config), run_id))


def test_an_old_regression_run_evaluates_and_loads_as_it_trained(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = hone.run(REGRESSION, store=store)
    as_recorded_before(store, run.run_id)
    code, out, _ = cli(capsys, "eval", run.run_id, "--store", str(store), "--json")
    assert code == 0
    assert json.loads(out)["r2"] == pytest.approx(run.metrics["test_r2"], abs=1e-9)
    _, built = hone.api.load_run(run.run_id, store)
    assert built.data.preprocess.get("target") is None  # no scaler was added on the way
    x = np.zeros((2, 4), dtype=np.float32)
    assert run.model is not None
    expected = run.model.eval()(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(hone.load(run.run_id, store=store).predict(x), expected, atol=1e-6)


def test_an_old_interrupted_run_resumes_as_it_trained(store: Path, tmp_path: Path) -> None:
    whole = hone.run(REGRESSION, store=tmp_path / "whole")
    cut = hone.run(REGRESSION, store=store, callbacks=[StopAfter(3)])
    as_recorded_before(store, cut.run_id)
    done = resume(cut.run_id, store=store)
    assert done.status == "completed"
    assert done.metrics == pytest.approx(whole.metrics, abs=1e-9)


def test_an_old_csv_run_of_300_classes_rebuilds_as_a_classification(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the issue's user got before: the price column trained as 300 classes. Re-evaluated
    now, it is still that model (not a regression that its weights do not fit)."""
    csv = write_csv(tmp_path / "prices.csv", *price_table())
    config = {"data": {"dataset": "csv", "path": str(csv), "target": "price",
                       "task": "classification", "split": {"test": 0.5}},
              "train": {"epochs": 2}}  # fmt: skip
    run = hone.run(config, store=store)
    as_recorded_before(store, run.run_id, task="auto")
    code, out, err = cli(capsys, "eval", run.run_id, "--store", str(store), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert len(report["classes"]) == 300
    assert report["accuracy"] == pytest.approx(run.metrics["test_accuracy"], abs=1e-12)
    assert hone.load(run.run_id, store=store).predict(np.zeros((1, 3))).shape == (1, 300)
