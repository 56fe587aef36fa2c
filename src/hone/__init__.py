"""hone: a workbench that diagnoses what holds a neural network back and proves what helps.

The public names load on first use, so ``hone --help`` and commands that only read the store
start without importing PyTorch. ``dir(hone)`` lists them.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The diagnosis package is loaded now, before ``diagnose`` below is defined: importing a
# submodule binds its name on the parent package, so had ``hone.diagnose`` been imported later
# for the first time, the package would have replaced the function. Both stay reachable:
# ``hone.diagnose(run_id)`` calls the function, ``from hone.diagnose import Finding`` reads the
# package. The package imports no PyTorch.
import hone.diagnose as _diagnosis_package  # noqa: F401
from hone.errors import ConfigError, DataError, HoneError, HoneWarning, StoreError

if TYPE_CHECKING:
    from hone.api import (
        ComparisonResult,
        RunResult,
        TuneOutcome,
        VariantResult,
        compare,
        datacurve,
        resume,
        run,
        tune,
    )
    from hone.config import Config, load_config
    from hone.diagnose import Diagnosis
    from hone.interop import LoadedModel, export, load

from hone.version import __version__

__all__ = [
    "ComparisonResult",
    "Config",
    "ConfigError",
    "DataError",
    "Diagnosis",
    "HoneError",
    "HoneWarning",
    "LoadedModel",
    "RunResult",
    "StoreError",
    "TuneOutcome",
    "VariantResult",
    "__version__",
    "compare",
    "datacurve",
    "diagnose",
    "export",
    "load",
    "load_config",
    "resume",
    "run",
    "tune",
]

_LAZY = {"run": "hone.api", "resume": "hone.api", "RunResult": "hone.api",
         "compare": "hone.api", "tune": "hone.api", "datacurve": "hone.api",
         "ComparisonResult": "hone.api",
         "TuneOutcome": "hone.api", "VariantResult": "hone.api", "Diagnosis": "hone.diagnose",
         "Config": "hone.config", "load_config": "hone.config",
         "load": "hone.interop", "export": "hone.interop",
         "LoadedModel": "hone.interop"}  # fmt: skip


def diagnose(run_id: str, store: str | Path | None = None, **options: Any) -> Diagnosis:
    """The diagnosis of a recorded run (``hone diagnose RUN``): findings, root cause first,
    each with the settings that caused it and prescriptions as config patches; ``probe=True``
    measures the top prescriptions (see ``hone.api.diagnose``)."""
    from hone.api import diagnose as diagnose_recorded  # the API loads PyTorch: on first use

    return diagnose_recorded(run_id, store, **options)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hone' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names, lazy ones included (not this module's own imports)."""
    return sorted(__all__)
