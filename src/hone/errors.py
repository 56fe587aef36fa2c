"""User-facing errors: each names the field or file at fault and how to fix it.

The CLI prints these as one message and exits with ``exit_code``; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "DataError",
    "DiskFullError",
    "HoneError",
    "ReadOnlyStoreError",
    "StoreDamagedError",
    "StoreError",
    "Terminated",
    "suggest",
]


class HoneError(Exception):
    """Base class for errors caused by user input rather than by hone itself."""

    exit_code = 1


class ConfigError(HoneError):
    """The configuration (file, ``--set`` override or API argument) is invalid."""

    exit_code = 2


class DataError(HoneError):
    """A dataset file is missing, unreadable or malformed."""

    exit_code = 2


class StoreError(HoneError):
    """The run store has no such run, or cannot be opened."""

    exit_code = 2


class ReadOnlyStoreError(StoreError):
    """The run store cannot be written (a read-only mount, no write permission)."""


class StoreDamagedError(StoreError):
    """``runs.db`` itself is damaged; ``hone store repair`` rebuilds it."""


class DiskFullError(StoreError):
    """A write ran out of space (or past a file-size limit): the run failed, the input was
    fine, so the exit code is 1, not 2."""

    exit_code = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so it stops hone the same way and the record
    can still tell which it was."""


def suggest(name: str, options: Iterable[str]) -> str:
    """Return " (did you mean 'x'?)" for the closest option, or "" when nothing is close."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
