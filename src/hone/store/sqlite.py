"""Opening a SQLite file that other processes may be opening, creating or closing at once.

A busy timeout covers waiting for a lock inside a statement, but not every moment of another
connection's life: while the last connection to a WAL database closes (it checkpoints and
removes the WAL under an exclusive lock), while a crashed writer's WAL is recovered, or while
the journal mode is switched, a new connection can get ``database is locked`` at once. Those
moments last milliseconds, so opening retries them with backoff until ``OPEN_TIMEOUT``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["OPEN_TIMEOUT", "connect", "is_busy", "retry_busy"]

OPEN_TIMEOUT = 60.0  # seconds; also each connection's busy timeout
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (extended codes keep these low bits)

T = TypeVar("T")


def is_busy(exc: BaseException) -> bool:
    """True for a lock held by another connection: worth waiting for, unlike damage."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in _BUSY_CODES
    text = str(exc)
    return "locked" in text or "busy" in text


def retry_busy(attempt: Callable[[], T], timeout: float = OPEN_TIMEOUT) -> T:
    """``attempt()``, again after a short sleep while it fails with a busy error."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def connect(
    path: Path | str,
    *,
    autocommit: bool = False,
    foreign_keys: bool = True,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """A connection in WAL mode with ``synchronous=NORMAL``, opened with busy retries.
    ``autocommit``: no implicit transactions (the caller begins its own)."""

    def attempt() -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=OPEN_TIMEOUT, check_same_thread=check_same_thread)
        if autocommit:
            db.isolation_level = None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if foreign_keys:
                db.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            db.close()
            raise
        return db

    return retry_busy(attempt)
