"""hone: a workbench that diagnoses what holds a neural network back and proves what helps.

The public names load on first use, so ``hone --help`` and commands that only read the store
start without importing PyTorch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from hone.errors import ConfigError, DataError, HoneError, StoreError

if TYPE_CHECKING:
    from hone.api import RunResult, resume, run
    from hone.config import Config, load_config
    from hone.experiments.api import ComparisonResult, TuneOutcome, compare, tune
    from hone.interop import LoadedModel, export, load

__version__ = "0.2.0"

__all__ = [
    "ComparisonResult",
    "Config",
    "ConfigError",
    "DataError",
    "HoneError",
    "LoadedModel",
    "RunResult",
    "StoreError",
    "TuneOutcome",
    "__version__",
    "compare",
    "diagnose",
    "export",
    "load",
    "load_config",
    "resume",
    "run",
    "tune",
]

_LAZY = {"run": "hone.api", "resume": "hone.api", "RunResult": "hone.api",
         "Config": "hone.config", "load_config": "hone.config", "load": "hone.interop",
         "export": "hone.interop", "LoadedModel": "hone.interop",
         "compare": "hone.experiments.api", "tune": "hone.experiments.api",
         "ComparisonResult": "hone.experiments.api",
         "TuneOutcome": "hone.experiments.api"}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name == "diagnose":  # the package, callable: hone.diagnose(run_id) -> Diagnosis
        return import_module("hone.diagnose")
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hone' has no attribute {name!r}")
