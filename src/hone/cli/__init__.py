"""The ``hone`` command line (Typer). ``hone --help`` and the commands that only read the
store start without importing PyTorch: each command imports what it needs when it runs."""

from __future__ import annotations

import atexit
import gc
import sys
from importlib import import_module
from typing import Any

__all__ = ["app", "main"]


def _app_module() -> Any:
    module = import_module("hone.cli.app")
    # Importing the submodule binds its name here to the module; ``hone.cli.app`` is the app.
    globals()["app"] = module.app
    return module


def main(argv: list[str] | None = None) -> None:
    """The entry point. The app is imported here, so a Ctrl-C while it loads ends like one
    at any other moment (exit 130), not in a traceback."""
    # The interpreter's last collections walk every object PyTorch made: 0.3-0.4 s of a
    # 1.6 s ``hone run`` on 2 cores. Frozen at exit, after threads are joined and stores
    # closed, what is left is freed as the process ends, not collected first.
    atexit.register(gc.freeze)
    try:
        module = _app_module()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    module.main(argv)


def __getattr__(name: str) -> Any:
    if name == "app":
        return _app_module().app
    raise AttributeError(f"module 'hone.cli' has no attribute {name!r}")
