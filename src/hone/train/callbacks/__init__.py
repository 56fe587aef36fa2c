"""Training callbacks, one per file; each hooks into the engine through ``Callback``."""

from hone.train.callbacks.base import Callback, CallbackList
from hone.train.callbacks.progress import ProgressBar
from hone.train.callbacks.recorder import StoreRecorder

__all__ = ["Callback", "CallbackList", "ProgressBar", "StoreRecorder"]
