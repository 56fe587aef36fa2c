"""hone: a workbench that diagnoses what holds a neural network back and proves what helps."""

from hone.api import RunResult, run
from hone.config import Config, load_config
from hone.errors import ConfigError, DataError, HoneError, StoreError

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "HoneError",
    "RunResult",
    "StoreError",
    "__version__",
    "load_config",
    "run",
]
