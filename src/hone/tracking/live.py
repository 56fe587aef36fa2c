"""``log_to: [tensorboard, mlflow]``: a run's curves in those tools while it trains.

Each epoch's metrics go out as the epoch ends (TensorBoard flushes every few seconds; MLflow
logs at once). When the run ends, the full record follows: final metrics, telemetry, config and,
for MLflow, the weights as artifacts, replacing the live MLflow run. A tracking tool that fails
mid-run (a server that went away, a full disk) is switched off with one warning; training and
hone's own record go on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hone.config.root import TrackingTarget
from hone.store import RunStore
from hone.tracking.common import finite, flatten, require
from hone.tracking.to_mlflow import client, experiment_id, log_record
from hone.tracking.to_tensorboard import write_summary
from hone.train.callbacks.base import Callback
from hone.train.state import TrainState

__all__ = ["LiveLogger", "check_targets"]

FLUSH_SECONDS = 5


def check_targets(log_to: Mapping[TrackingTarget, str | None]) -> None:
    """Before training: each target's library is installed (else a clear config error)."""
    for target in log_to:
        require(target, f"log_to: {target}")


class LiveLogger(Callback):
    """Logs each epoch to the configured targets; ``finish`` logs the full record."""

    def __init__(
        self, log_to: Mapping[TrackingTarget, str | None], store: RunStore, run_id: str
    ) -> None:
        self.log_to: dict[TrackingTarget, str | None] = dict(log_to)
        self.store = store
        self.run_id = run_id
        self.warnings: list[str] = []
        self._tb: Any = None
        self._mlflow: Any = None
        self._mlflow_run = ""

    def _tb_folder(self) -> Path:
        root = self.log_to.get("tensorboard")
        return (Path(root) if root else self.store.root / "tensorboard") / self.run_id

    def _failed(self, target: str, exc: Exception) -> None:
        self.warnings.append(f"log_to: {target} stopped logging: {type(exc).__name__}: {exc}")
        if target == "tensorboard":
            self._tb = None
        else:
            self._mlflow = None

    def on_train_begin(self, state: TrainState) -> None:
        record = self.store.get_run(self.run_id, with_history=False)
        if "tensorboard" in self.log_to:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self._tb_folder()), flush_secs=FLUSH_SECONDS)
            except Exception as exc:  # tracking must never stop training
                self._failed("tensorboard", exc)
        if "mlflow" in self.log_to:
            try:
                self._mlflow = client(self.log_to["mlflow"])
                tags = {"mlflow.runName": f"{record.name} {self.run_id[-6:]}",
                        "hone.run_id": self.run_id, "hone.status": "running"}  # fmt: skip
                made = self._mlflow.create_run(
                    experiment_id(self._mlflow, record.name or "hone"), tags=tags
                )
                self._mlflow_run = made.info.run_id
                for key, value in list(flatten(record.config).items())[:100]:
                    self._mlflow.log_param(self._mlflow_run, key, str(value)[:500])
            except Exception as exc:
                self._failed("mlflow", exc)

    def on_epoch_end(self, state: TrainState) -> None:
        logs = {k: float(v) for k, v in state.logs.items() if finite(v)}
        if self._tb is not None:
            try:
                for key, value in logs.items():
                    self._tb.add_scalar(f"epoch/{key}", value, state.epoch)
            except Exception as exc:
                self._failed("tensorboard", exc)
        if self._mlflow is not None:
            try:
                from mlflow.entities import Metric

                stamp = int(time.time() * 1000)
                batch = [Metric(k, v, stamp, state.epoch) for k, v in logs.items()]
                self._mlflow.log_batch(self._mlflow_run, metrics=batch)
            except Exception as exc:
                self._failed("mlflow", exc)

    def finish(self) -> list[str]:
        """After the run is recorded: the full record to each target; returns any warnings."""
        if self._tb is not None:
            try:
                write_summary(self._tb, self.store, self.run_id)
                self._tb.close()
            except Exception as exc:
                self._failed("tensorboard", exc)
        if self._mlflow is not None:
            try:
                record = self.store.get_run(self.run_id, with_history=False)
                log_record(self._mlflow, self.store, self.run_id, record.name or "hone")
            except Exception as exc:
                self._failed("mlflow", exc)
        return self.warnings
