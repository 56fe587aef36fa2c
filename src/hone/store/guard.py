"""The index connection: SQLite's errors about the file itself become one message naming it.

A damaged ``runs.db`` (bytes flipped on disk, a truncated copy) fails wherever SQLite happens
to read the damaged page, not when the file is opened. Every statement and fetch of the index
goes through ``GuardedConnection``, so each of those failures, wherever it happens, is
confirmed with SQLite's ``quick_check`` and reported as ``StoreDamagedError`` with the way out
(``hone store repair``). A full disk and a read-only file get their own errors; a busy lock
and programming errors pass through unchanged. Text cells whose bytes are not UTF-8 are read
with replacement characters, so the row is shown as damaged instead of failing the query.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hone.errors import DiskFullError, ReadOnlyStoreError, StoreDamagedError, StoreError
from hone.store.files import free_bytes, human_bytes

__all__ = ["GuardedConnection", "describe", "index_error", "quick_check", "repair_hint"]

_DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL = 13  # SQLITE_FULL
_READ_ONLY = 8  # SQLITE_READONLY
_IO = 10  # SQLITE_IOERR
_NEARLY_FULL = 1 << 20  # bytes: below this, an I/O error is the disk being full


def repair_hint(root: Path) -> str:
    return (
        f"run `hone store repair --store {root}` to rebuild the index from the run folders "
        "(the damaged file is kept beside it)"
    )


def quick_check(db: sqlite3.Connection, limit: int = 20, thorough: bool = False) -> list[str]:
    """SQLite's ``quick_check`` (``integrity_check`` when ``thorough``: it also compares every
    index with its table): the problems it finds, empty when the file is sound; when the
    check itself cannot run, why not, as its one problem."""
    pragma = "integrity_check" if thorough else "quick_check"
    try:
        cursor = sqlite3.Connection.cursor(db)
        rows = sqlite3.Cursor.execute(cursor, f"PRAGMA {pragma}({int(limit)})").fetchall()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        return [f"SQLite cannot read it: {_text(exc)}"]
    lines = [line for r in rows for line in str(r[0]).splitlines()]
    return [line for line in lines if line != "ok" and not line.startswith("*** in database")]


def _text(exc: BaseException) -> str:
    # SQLite's message can quote damaged bytes (a mangled table name), which Python then
    # fails to decode: that is damage too.
    if isinstance(exc, UnicodeDecodeError):
        return "text in the file is not valid UTF-8 (a damaged page)"
    return str(exc)


def index_error(
    exc: BaseException, path: Path, db: sqlite3.Connection | None = None
) -> StoreError | None:
    """The store error ``exc`` (an ``sqlite3.Error``, or the ``UnicodeDecodeError`` damaged
    text raises) means for the index at ``path``; ``None`` for errors that are not about the
    file (a busy lock, a constraint, a bug)."""
    code = getattr(exc, "sqlite_errorcode", None)
    base = code & 0xFF if isinstance(code, int) else None
    if isinstance(exc, UnicodeDecodeError):
        base = 11
    text = _text(exc)
    root = path.parent
    free = free_bytes(root)
    nearly_full = free is not None and free < _NEARLY_FULL
    if base == _FULL or (base == _IO and nearly_full):  # a full disk fails SQLite's I/O too
        left = f", {human_bytes(free)} are free there" if free is not None else ""
        return DiskFullError(
            f"{path}: the disk is full, SQLite could not write the index ({text}; a write "
            f"needs about {human_bytes(_page_size(db))} at least, a page{left}); free some "
            "space and try again, or record runs elsewhere with --store DIR"
        )
    if base == _READ_ONLY:
        return ReadOnlyStoreError(
            f"the run store {root} is read-only ({text}); reading commands work, but to record "
            "runs give a writable store with --store DIR (and --out FILE for a report)"
        )
    if base in _DAMAGED or base == _IO:
        problems = quick_check(db) if db is not None and base != 26 else []
        if db is not None and base != 26 and not problems:
            problems = quick_check(db, thorough=True)  # the damage may be in an index
        unreadable = problems[:1] == [f"SQLite cannot read it: {text}"]
        if base == _IO and (not problems or unreadable):
            return StoreError(
                f"{path}: SQLite could not read or write it ({text}); check the disk it is on"
            )
        return StoreDamagedError(f"{path} is damaged ({describe(problems, text)}); "
                                 f"{repair_hint(root)}")  # fmt: skip
    return None


def _page_size(db: sqlite3.Connection | None) -> int:
    try:
        cursor = sqlite3.Connection.cursor(db) if db is not None else None
        row = sqlite3.Cursor.execute(cursor, "PRAGMA page_size").fetchone() if cursor else None
    except (sqlite3.Error, UnicodeDecodeError):
        row = None
    return int(row[0]) if row else 4096


def describe(problems: list[str], error: str = "") -> str:
    """What SQLite says is wrong with a file, in one clause."""
    if len(problems) == 1 and problems[0].startswith("SQLite cannot read it"):
        return problems[0]
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        return f"SQLite's check finds: {problems[0][:160]}{more}"
    return f"SQLite: {error}"


def _replace_bad_utf8(data: bytes) -> str:
    return data.decode("utf-8", "replace")


class GuardedCursor(sqlite3.Cursor):
    """A cursor whose statements and fetches raise ``index_error``'s errors."""

    def _failed(self, exc: sqlite3.Error | UnicodeDecodeError) -> BaseException:
        conn = self.connection
        if isinstance(conn, GuardedConnection):
            translated = index_error(exc, conn.path, conn)
            if translated is not None:
                return translated
        return exc

    def execute(self, sql: str, parameters: Any = (), /) -> GuardedCursor:
        try:
            super().execute(sql, parameters)
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise self._failed(exc) from None
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> GuardedCursor:
        try:
            super().executemany(sql, seq_of_parameters)
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise self._failed(exc) from None
        return self

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise self._failed(exc) from None

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        try:
            return super().fetchmany(size)
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise self._failed(exc) from None

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise self._failed(exc) from None

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise self._failed(exc) from None


class GuardedConnection(sqlite3.Connection):
    """Pass as ``factory=`` to ``sqlite3.connect``; ``path`` is the file it opened."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self.path = Path(str(database).removeprefix("file:").split("?", 1)[0])
        self.text_factory = _replace_bad_utf8

    def execute(self, sql: str, parameters: Any = (), /) -> GuardedCursor:
        return self.cursor(GuardedCursor).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> GuardedCursor:
        return self.cursor(GuardedCursor).executemany(sql, parameters)
