"""The ``hone`` command line (Typer). ``hone --help`` and the commands that only read the
store start without importing PyTorch: each command imports what it needs when it runs."""

from hone.cli.app import app, main

__all__ = ["app", "main"]
