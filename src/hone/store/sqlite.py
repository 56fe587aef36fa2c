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
from urllib.parse import quote

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
    factory: type[sqlite3.Connection] = sqlite3.Connection,
    read_only: bool = False,
) -> sqlite3.Connection:
    """A connection in WAL mode with ``synchronous=NORMAL``, opened with busy retries.
    ``autocommit``: no implicit transactions (the caller begins its own). ``read_only``: for
    a file in a folder this process cannot write (a read-only mount): opened with
    ``mode=ro``, else, where SQLite cannot even create its shared-memory file there, as
    ``immutable`` (nothing can change it while it is read-only)."""

    def attempt() -> sqlite3.Connection:
        if read_only:
            return _open_read_only(Path(path), factory, check_same_thread)
        db = sqlite3.connect(
            path, timeout=OPEN_TIMEOUT, check_same_thread=check_same_thread, factory=factory
        )
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


def _open_read_only(
    path: Path, factory: type[sqlite3.Connection], check_same_thread: bool
) -> sqlite3.Connection:
    uri = "file:" + quote(str(path.absolute()))
    db = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=OPEN_TIMEOUT,
                         check_same_thread=check_same_thread, factory=factory)  # fmt: skip
    try:
        # WAL: fails here when the -shm file cannot be made (the plain method, so a factory
        # that reports errors its own way does not turn this one into another)
        sqlite3.Connection.execute(db, "PRAGMA user_version").fetchone()
    except sqlite3.OperationalError as exc:
        db.close()
        if is_busy(exc):
            raise
        db = sqlite3.connect(uri + "?immutable=1", uri=True, timeout=OPEN_TIMEOUT,
                             check_same_thread=check_same_thread, factory=factory)  # fmt: skip
    db.isolation_level = None
    return db
