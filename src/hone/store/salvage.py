"""What survives in a damaged index: every row SQLite can still read, table by table.

A flipped byte damages one page of ``runs.db``; a full scan then stops at that page, but the
rows on the other pages can still be reached one by one through their rowid. Rows come back
with text that is not UTF-8 replaced (``U+FFFD``), so the caller can tell a damaged cell from
a good one. The damaged file is only read (``mode=ro``), never changed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hone.store.schema import TABLES
from hone.store.sqlite import connect as sqlite_connect

__all__ = ["MAX_MISSES", "salvage"]

MAX_MISSES = 5000  # rowids probed past the last row found before giving up on a table


def _replace(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    try:
        return [str(r[1]) for r in db.execute(f"PRAGMA table_info({table})").fetchall()]
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return []


def _scan(db: sqlite3.Connection, sql: str, found: dict[int, tuple[Any, ...]]) -> bool:
    """Read rows in rowid order until the first damaged page; True when the scan ended."""
    try:
        for row in db.execute(sql):
            found[int(row[0])] = tuple(row[1:])
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return False
    return True


def _highest_rowid(db: sqlite3.Connection, table: str) -> int | None:
    try:
        row = db.execute(f"SELECT max(rowid) FROM {table}").fetchone()
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return None
    return int(row[0]) if row and row[0] is not None else None


def _probe(db: sqlite3.Connection, select: str, start: int, stop: int | None,
           found: dict[int, tuple[Any, ...]]) -> None:  # fmt: skip
    """Look up each rowid from ``start`` on: to ``stop``, or until ``MAX_MISSES`` in a row."""
    rowid, misses = start, 0
    while (rowid <= stop) if stop is not None else misses < MAX_MISSES:
        try:
            row = db.execute(select + " WHERE rowid = ?", (rowid,)).fetchone()
        except (sqlite3.DatabaseError, UnicodeDecodeError):
            row = None
        if row is None:
            misses += 1
        else:
            found[int(row[0])] = tuple(row[1:])
            misses = 0
        rowid += 1


def _table(db: sqlite3.Connection, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    columns = _columns(db, table)
    if not columns:
        return [], []
    select = f"SELECT rowid, {', '.join(columns)} FROM {table}"
    found: dict[int, tuple[Any, ...]] = {}
    if not _scan(db, select + " ORDER BY rowid", found):
        start = max(found, default=0) + 1
        _probe(db, select, start, _highest_rowid(db, table), found)
    return columns, [found[k] for k in sorted(found)]


def salvage(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Each table's readable rows, as ``{column: value}``; an empty mapping when SQLite
    cannot read the file at all (its header or schema is gone)."""
    try:
        db = sqlite_connect(path, read_only=True)
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return {}
    db.text_factory = _replace
    try:
        out = {}
        for table in TABLES:
            columns, rows = _table(db, table)
            out[table] = [dict(zip(columns, row, strict=True)) for row in rows]
        return out
    finally:
        db.close()
