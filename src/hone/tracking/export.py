"""``hone export RUN|EXP --to tensorboard|mlflow``: a recorded run's (or an experiment's)
curves, telemetry and config in the tool named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hone.errors import ConfigError
from hone.store import RunStore
from hone.tracking.common import TARGETS, require
from hone.tracking.to_mlflow import to_mlflow
from hone.tracking.to_tensorboard import to_tensorboard

__all__ = ["export_to"]


def export_to(target: str, rs: RunStore, ident: str, where: str | None) -> dict[str, Any]:
    """``hone export IDENT [WHERE] --to TARGET``: a folder for TensorBoard, a tracking URI
    for MLflow (default: MLflow's own, ``$MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db``)."""
    if target == "tensorboard":
        if not where:
            raise ConfigError("--to tensorboard: give the folder to write the event files to")
        require("tensorboard", "--to tensorboard")  # before its folder is made
        return to_tensorboard(rs, ident, Path(where))
    if target == "mlflow":
        require("mlflow", "--to mlflow")
        return to_mlflow(rs, ident, where)
    raise ConfigError(f"--to: '{target}' is not a target; valid: {', '.join(TARGETS)}")
