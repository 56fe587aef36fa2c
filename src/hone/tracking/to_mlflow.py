"""Recorded runs in an MLflow tracking store (``hone export RUN|EXP [URI] --to mlflow``).

Per run: the config flattened to params (``train.optimizer.lr``), every per-epoch history series
as a metric stepped by epoch, telemetry gradient norms and dead/saturated shares stepped by
training step, the final metrics as ``final/<name>``, tags naming the hone run, and the weights,
config and evaluation as artifacts. The MLflow run's status, start and end times are the hone
run's. Exporting a run again replaces its earlier MLflow run (matched by the ``hone.run_id``
tag), so the store never holds two copies. Needs ``mlflow`` (``hone[tracking]``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hone.errors import ConfigError, StoreError
from hone.store import RunRecord, RunStore
from hone.tracking.common import epochs_of, finite, flatten, require, telemetry_scalars

__all__ = ["MLFLOW_STATUS", "client", "experiment_id", "log_record", "to_mlflow"]

# hone's status -> MLflow's RunStatus name
MLFLOW_STATUS = {
    "completed": "FINISHED",
    "stopped": "FINISHED",
    "diverged": "FAILED",
    "failed": "FAILED",
    "interrupted": "KILLED",
    "killed": "KILLED",
    "running": "RUNNING",
}
PARAM_LENGTH = 500  # MLflow refuses longer param values on some stores
BATCH = 1000  # metrics per log_batch call (MLflow's limit)
ARTIFACTS = ("weights.safetensors", "config.yaml", "evaluation.json", "data.json", "run.json")


def client(uri: str | None) -> Any:
    """An ``MlflowClient`` for ``uri`` (default: MLflow's own resolution of the URI)."""
    require("mlflow", "--to mlflow")
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    target = uri or mlflow.get_tracking_uri()
    try:
        made = MlflowClient(tracking_uri=target)
        made.search_experiments(max_results=1)  # opens (and for SQLite creates) the store now
    except MlflowException as exc:
        raise ConfigError(f"MLflow tracking URI {target!r}: {exc.message}") from None
    return made


def experiment_id(mlf: Any, name: str) -> str:
    found = mlf.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            mlf.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    return str(mlf.create_experiment(name, artifact_location=_artifact_root(mlf.tracking_uri)))


def _artifact_root(uri: str) -> str | None:
    """Artifacts of a SQLite store go in ``mlartifacts/`` beside the database (as ``mlflow
    server`` does) rather than MLflow's default ``./mlruns`` in whatever folder hone ran from."""
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///"))
    return (database.resolve().parent / "mlartifacts").as_uri()


def _replace_earlier(mlf: Any, experiment_id: str, run_id: str) -> None:
    earlier = mlf.search_runs([experiment_id], filter_string=f"tags.`hone.run_id` = '{run_id}'")
    for old in earlier:
        mlf.delete_run(old.info.run_id)


def _params(record: RunRecord) -> dict[str, str]:
    out = {}
    for key, value in flatten(record.config).items():
        text = "" if value is None else str(value)
        out[key] = text if len(text) <= PARAM_LENGTH else text[: PARAM_LENGTH - 3] + "..."
    return out


def _metrics(rs: RunStore, record: RunRecord) -> list[Any]:
    from mlflow.entities import Metric

    stamp = int((record.created or time.time()) * 1000)
    out = []
    epochs = epochs_of(record)
    for key, values in record.history.items():
        if key == "epoch":
            continue
        for epoch, value in zip(epochs, values, strict=False):
            if finite(value):
                out.append(Metric(key, float(value), stamp, epoch))
    if (rs.run_dir(record.id) / "telemetry.json").is_file():
        samples = (rs.load_json(record.id, "telemetry.json") or {}).get("samples") or []
        out += [Metric(tag, value, stamp, step) for tag, value, step in telemetry_scalars(samples)]
    for key, value in record.metrics.items():
        if finite(value):
            out.append(Metric(f"final/{key}", float(value), stamp, record.epochs_run))
    return out


def log_record(
    mlf: Any, rs: RunStore, run_id: str, experiment: str, tags: dict[str, str] | None = None
) -> str:
    """Log one recorded hone run into ``experiment``; returns the MLflow run id."""
    from mlflow.entities import Param, RunTag

    record = rs.get_run(run_id)
    exp_id = experiment_id(mlf, experiment)
    _replace_earlier(mlf, exp_id, record.id)
    all_tags = {
        "mlflow.runName": f"{record.name} {record.id[-6:]}",
        "hone.run_id": record.id,
        "hone.status": rs.shown_status(record),
        "hone.store": str(rs.root.resolve()),
        **(tags or {}),
    }
    if record.message:
        all_tags["hone.message"] = record.message[:PARAM_LENGTH]
    start = int((record.created or time.time()) * 1000)
    made = mlf.create_run(exp_id, start_time=start, tags=all_tags)
    mlflow_id = str(made.info.run_id)
    params = [Param(k, v) for k, v in _params(record).items()]
    for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
        mlf.log_batch(mlflow_id, params=params[i : i + 100])
    metrics = _metrics(rs, record)
    for i in range(0, len(metrics), BATCH):
        mlf.log_batch(mlflow_id, metrics=metrics[i : i + BATCH])
    mlf.log_batch(mlflow_id, tags=[RunTag("hone.epochs_run", str(record.epochs_run))])
    folder = rs.run_dir(record.id)
    for name in ARTIFACTS:
        if (folder / name).is_file():
            mlf.log_artifact(mlflow_id, str(folder / name))
    end = int((record.finished or time.time()) * 1000)
    status = MLFLOW_STATUS.get(rs.shown_status(record), "FINISHED")
    mlf.set_terminated(mlflow_id, status=status, end_time=end)
    return mlflow_id


def to_mlflow(rs: RunStore, ident: str, uri: str | None) -> dict[str, Any]:
    """Log a run into the MLflow experiment named after its config's ``name``, or each run of a
    hone experiment into one named after that experiment."""
    mlf = client(uri)
    if ident.startswith("exp-"):
        record = rs.get_experiment(ident)
        if not record.runs:
            raise StoreError(f"experiment {record.id} has no finished runs to export")
        experiment = f"hone {record.kind} {record.name} ({record.id})"
        for link in record.runs:
            tags = {"hone.experiment": record.id, "hone.variant": str(link["variant"]),
                    "hone.seed": str(link["seed"])}  # fmt: skip
            log_record(mlf, rs, link["run_id"], experiment, tags)
        return {"runs": len(record.runs), "experiment": experiment, "uri": mlf.tracking_uri}
    run_id = rs.resolve_id(ident)
    experiment = str(rs.get_run(run_id, with_history=False).name) or "hone"
    log_record(mlf, rs, run_id, experiment)
    return {"runs": 1, "experiment": experiment, "uri": mlf.tracking_uri}
