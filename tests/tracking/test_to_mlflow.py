"""``hone export ... --to mlflow``: runs and experiments read back with the MLflow client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import hone
from tests.cli.test_safety import cli
from tests.conftest import tiny

pytest.importorskip("mlflow", reason="pip install 'hone[tracking]'")


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _runs(uri: str, experiment: str) -> list[Any]:
    mlf = _client(uri)
    found = mlf.get_experiment_by_name(experiment)
    assert found is not None, experiment
    return list(mlf.search_runs([found.experiment_id]))


def test_a_run_logs_params_metrics_and_weights(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = hone.run(tiny(**{"train.epochs": 4, "name": "blobs-mlp"}), store=str(store))
    code, out, err = cli(capsys, "export", result.run_id, uri, "--to", "mlflow",
                         "--store", str(store))  # fmt: skip
    assert code == 0, err
    assert "mlflow ui --backend-store-uri" in out
    (run,) = _runs(uri, "blobs-mlp")
    assert run.info.status == "FINISHED"
    assert run.data.tags["hone.run_id"] == result.run_id
    assert run.data.params["train.optimizer.lr"] == "0.01"
    assert run.data.params["model.hidden"] == "[16]"
    mlf = _client(uri)
    history = mlf.get_metric_history(run.info.run_id, "train_loss")
    assert [m.step for m in history] == [1, 2, 3, 4]
    assert [m.value for m in history] == pytest.approx(result.history["train_loss"])
    final = run.data.metrics["final/test_accuracy"]
    assert final == pytest.approx(result.metrics["test_accuracy"])
    assert any(key.startswith("grad_norm/") for key in run.data.metrics)
    names = {a.path for a in mlf.list_artifacts(run.info.run_id)}
    assert {"weights.safetensors", "config.yaml", "evaluation.json"} <= names
    # A SQLite store keeps its artifacts beside the database, not in the working directory.
    assert list((tmp_path / "mlartifacts").glob("*/artifacts/weights.safetensors"))
    # Exported again: the earlier MLflow run is replaced, not duplicated.
    code, _, _ = cli(capsys, "export", result.run_id, uri, "--to", "mlflow", "--store", str(store))
    assert code == 0 and len(_runs(uri, "blobs-mlp")) == 1


def test_an_interrupted_run_is_killed_in_mlflow(store: Path, tmp_path: Path) -> None:
    from hone.store import RunStore
    from hone.tracking import to_mlflow
    from tests.train.test_resume import StopAfter

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = hone.run(tiny(**{"train.epochs": 9}), store=str(store), callbacks=[StopAfter(2)])
    with RunStore(store) as rs:
        to_mlflow(rs, result.run_id, uri)
    (run,) = _runs(uri, "tiny")
    assert run.info.status == "KILLED" and run.data.tags["hone.status"] == "interrupted"


def test_an_experiment_logs_one_run_per_variant_and_seed(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(tiny(**{"train.epochs": 2})))
    cli(capsys, "compare", str(path), "--vary", "train.optimizer.lr=0.001,0.1", "--seeds", "3",
        "--store", str(store), "--quiet")  # fmt: skip
    _, listing, _ = cli(capsys, "experiments", "list", "--store", str(store), "--json")
    exp_id = json.loads(listing)[0]["id"]
    code, out, err = cli(capsys, "export", exp_id, uri, "--to", "mlflow", "--store", str(store))
    assert code == 0, err
    experiment = out.split("experiment '")[1].split("'")[0]
    runs = _runs(uri, experiment)
    pairs = sorted((r.data.tags["hone.variant"], r.data.tags["hone.seed"]) for r in runs)
    assert len(pairs) == len(set(pairs)) == 9  # the baseline and 2 variants, 3 seeds each
    assert {r.data.tags["hone.experiment"] for r in runs} == {exp_id}


def test_a_bad_tracking_uri_is_one_clear_error(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = hone.run(tiny(**{"train.epochs": 1}), store=str(store))
    code, _, err = cli(capsys, "export", result.run_id, "nosuchscheme://x", "--to", "mlflow",
                       "--store", str(store))  # fmt: skip
    assert code == 2 and "MLflow tracking URI" in err and "Traceback" not in err
