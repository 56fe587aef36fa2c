"""hone: a workbench that diagnoses what holds a neural network back and proves what helps.

The public names load on first use, so ``hone --help`` and commands that only read the store
start without importing PyTorch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from hone.errors import ConfigError, DataError, HoneError, StoreError

if TYPE_CHECKING:
    from hone.api import RunResult, run
    from hone.config import Config, load_config
    from hone.interop import LoadedModel, export, load

__version__ = "0.2.0"

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "HoneError",
    "LoadedModel",
    "RunResult",
    "StoreError",
    "__version__",
    "export",
    "load",
    "load_config",
    "run",
]

_LAZY = {"run": "hone.api", "RunResult": "hone.api", "Config": "hone.config",
         "load_config": "hone.config", "load": "hone.interop", "export": "hone.interop",
         "LoadedModel": "hone.interop"}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hone' has no attribute {name!r}")
