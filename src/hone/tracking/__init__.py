"""Recorded runs in the tools people already use: TensorBoard event files and MLflow tracking
stores, exported after the fact (``hone export ... --to``) or live while a run trains
(``log_to:``). Each needs its optional extra, ``hone[tracking]``."""

from hone.tracking.common import TARGETS
from hone.tracking.export import export_to
from hone.tracking.live import LiveLogger
from hone.tracking.to_mlflow import to_mlflow
from hone.tracking.to_tensorboard import to_tensorboard

__all__ = ["TARGETS", "LiveLogger", "export_to", "to_mlflow", "to_tensorboard"]
