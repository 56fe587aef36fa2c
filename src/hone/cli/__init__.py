"""The ``hone`` command line (Typer). ``hone --help`` and the commands that only read the
store start without importing PyTorch: each command imports what it needs when it runs."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """The entry point. The app is imported here, so a Ctrl-C while it loads ends like one
    at any other moment (exit 130), not in a traceback."""
    try:
        from hone.cli.app import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    run(argv)


def __getattr__(name: str) -> Any:
    if name == "app":
        from hone.cli.app import app

        return app
    raise AttributeError(f"module 'hone.cli' has no attribute {name!r}")
