"""User-facing errors: each names the field or file at fault and how to fix it.

The CLI prints these as one message and exits with ``exit_code``; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import difflib
import os
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "ConfigError",
    "DataError",
    "DiskFullError",
    "HoneError",
    "HoneNotice",
    "HoneWarning",
    "ReadOnlyStoreError",
    "StoreDamagedError",
    "StoreError",
    "Terminated",
    "suggest",
    "warn",
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


class HoneWarning(UserWarning):
    """Something hone chose or changed for the user that they should know about (defaults it
    picked, an old path rule it still accepted); the CLI prints it as one ``warning:`` line."""


class HoneNotice(HoneWarning):
    """Something hone does that the user should hear about, not a problem (it downloads a
    dataset into a folder it creates); the CLI prints it as one ``note:`` line."""


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


_PACKAGE = str(Path(__file__).resolve().parent)


def warn(message: str, category: type[HoneWarning] = HoneWarning) -> None:
    """A ``HoneWarning`` attributed to the first caller outside hone (the user's line), so
    Python shows it once per place it is triggered from."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    warnings.warn(message, category, stacklevel=level)
