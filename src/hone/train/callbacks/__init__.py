"""Training callbacks, one per file; each hooks into the engine through ``Callback``."""

from hone.train.callbacks.base import Callback, CallbackList
from hone.train.callbacks.checkpoint import Checkpoint
from hone.train.callbacks.early_stopping import EarlyStopping
from hone.train.callbacks.lr_schedule import LRSchedule
from hone.train.callbacks.monitor import MonitorCallback, resolve_mode
from hone.train.callbacks.progress import ProgressBar, Pulses
from hone.train.callbacks.recorder import StoreRecorder
from hone.train.callbacks.telemetry import Telemetry

__all__ = [
    "Callback",
    "CallbackList",
    "Checkpoint",
    "EarlyStopping",
    "LRSchedule",
    "MonitorCallback",
    "ProgressBar",
    "Pulses",
    "StoreRecorder",
    "Telemetry",
    "resolve_mode",
]
