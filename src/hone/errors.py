"""User-facing errors: each names the field or file at fault and how to fix it.

The CLI prints these as one message and exits with ``exit_code``; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import difflib
import os
import re
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
    "Interrupted",
    "ReadOnlyStoreError",
    "StoreDamagedError",
    "StoreError",
    "Terminated",
    "error_json",
    "install_hint",
    "suggest",
    "warn",
]


class HoneError(Exception):
    """Base class for errors caused by user input rather than by hone itself."""

    exit_code = 1


class Interrupted(HoneError):
    """Ctrl-C or SIGTERM stopped a command made of many runs; what finished is recorded.
    The exit code is 128 + the signal, as a shell reports it: 130, or 143 for SIGTERM."""

    exit_code = 130

    def __init__(self, message: str, sigterm: bool = False) -> None:
        super().__init__(message)
        self.exit_code = 143 if sigterm else 130


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


def error_json(exc: BaseException, exit_code: int) -> dict[str, object]:
    """A failure as ``hone ... --json`` prints it on stdout: ``{"error": {"code", "message",
    "field"}, "exit_code"}``. ``code`` is the kind (``config_error``, ``data_error``,
    ``store_error``, ``usage_error``, ...); ``field`` the config key, flag or file the message
    starts with (``train.optimizer.lr: ...``), or ``null`` when it names none."""
    name = "interrupted" if exit_code in (130, 143) else _snake(type(exc).__name__)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    field = getattr(exc, "field", None) or _field_of(message)
    return {"error": {"code": name, "message": message, "field": field}, "exit_code": exit_code}


def _snake(name: str) -> str:
    if name in ("UsageError", "BadParameter", "NoSuchOption", "MissingParameter", "BadOptionUsage"):
        return "usage_error"
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


def _field_of(message: str) -> str | None:
    """``train.optimizer.lr``, ``--budget``, ``data=`` or a file's path before the first ": "
    (or, in a list of config errors, the first indented key); ``None`` where none is named."""
    m = re.match(r"([^\s:'\"]+): ", message) or re.search(r"^\s+([A-Za-z_][\w.\[\]]*): ",
                                                           message, re.M)  # fmt: skip
    if m is None:
        m = re.match(r"(?:No such option|Invalid value for|Missing option)[: ]+'?(--?[\w-]+)",
                     message)  # fmt: skip
    return m.group(1) if m else None


def install_hint(extra: str) -> str:
    """The command that installs hone's optional ``extra`` the way hone itself was installed:
    from a checkout (editable, or on ``PYTHONPATH``) ``pip install -e '.[extra]'`` (the
    checkout's path when it is not the working folder); from a package, ``pip install
    'hone[extra]'``."""
    root = Path(__file__).resolve().parents[2]
    project = root / "pyproject.toml"
    try:
        ours = project.is_file() and 'name = "hone"' in project.read_text("utf-8")
    except OSError:
        ours = False
    if not ours:
        return f"pip install 'hone[{extra}]'"
    where = "." if root == Path.cwd().resolve() else str(root)
    return f"pip install -e '{where}[{extra}]'"
