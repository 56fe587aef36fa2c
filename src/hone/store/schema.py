"""The index's schema, its version, and opening it without ever resetting it silently.

``runs.db`` carries ``PRAGMA user_version``. A missing or emptied index beside existing run
folders, a dropped table, or an index from a newer hone is an error that says what to do
(``hone store repair``), never a fresh empty index that makes runs vanish.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hone.errors import ReadOnlyStoreError, StoreDamagedError, StoreError
from hone.store.guard import GuardedConnection, repair_hint
from hone.store.sqlite import connect as sqlite_connect
from hone.store.sqlite import retry_busy

__all__ = ["COLUMNS", "SCHEMA_VERSION", "TABLES", "connect", "create_index", "open_index"]

SCHEMA_VERSION = 2  # 1: wave 1 (no owner columns); 2: owner, heartbeat

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    seed INTEGER,
    config TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    epochs_run INTEGER NOT NULL DEFAULT 0,
    wall_seconds REAL,
    message TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}',
    pid INTEGER,
    host TEXT,
    proc_start REAL,
    heartbeat REAL
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    logs TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    spec TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS experiment_runs (
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    seed INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (experiment_id, variant, seed)
);
"""

TABLES = ("runs", "epochs", "experiments", "experiment_runs")
_OWNER_COLUMNS = (
    ("pid", "INTEGER"),
    ("host", "TEXT"),
    ("proc_start", "REAL"),
    ("heartbeat", "REAL"),
)


_RUN_COLUMNS = ("id", "name", "status", "created", "finished", "seed", "config", "metrics",
                "epochs_run", "wall_seconds", "message", "extra")  # fmt: skip
# Every column each table must have (a damaged schema page can rename one).
COLUMNS = {
    "runs": (*_RUN_COLUMNS, *(name for name, _ in _OWNER_COLUMNS)),
    "epochs": ("run_id", "epoch", "logs"),
    "experiments": ("id", "kind", "name", "status", "created", "finished", "spec", "summary"),
    "experiment_runs": ("experiment_id", "variant", "seed", "run_id"),
}


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """The index connection: WAL, autocommit (each write opens its own transaction), its
    errors about the file itself reported as store errors (``hone.store.guard``)."""
    db = sqlite_connect(path, autocommit=True, factory=GuardedConnection, read_only=read_only)
    assert isinstance(db, GuardedConnection)
    db.path = Path(path)
    return db


def _run_folders(root: Path) -> int:
    runs = root / "runs"
    return sum(1 for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else 0


def _execute_schema(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken before the first read, so what it reads stays true."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def create_index(db: sqlite3.Connection) -> None:
    """Create the tables in one transaction, so no other process ever sees half of them."""
    with _transaction(db):
        _execute_schema(db)


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _repair_hint(root: Path) -> str:
    return repair_hint(root)


def open_index(root: Path, read_only: bool = False) -> sqlite3.Connection:
    """Open ``root/runs.db``, creating it only for a new store and migrating an old one.

    Several processes may open (and create) the same new store at once: creation is one
    transaction that checks again, under the write lock, whether another process won.
    ``read_only``: a store this process cannot write is read as it is, never created or
    migrated."""
    path = root / "runs.db"
    if not path.exists() and (folders := _run_folders(root)):
        raise StoreError(
            f"{path} is missing, but {root / 'runs'} holds {folders} run folder(s); "
            f"{_repair_hint(root)}"
        )
    if read_only and not path.exists():
        raise ReadOnlyStoreError(
            f"the run store {root} is read-only and holds no index ({path} does not exist); "
            "give a writable store with --store DIR"
        )
    db = connect(path, read_only)
    try:
        retry_busy(lambda: _check(db, root, read_only))
    except BaseException:
        db.close()
        raise
    return db


def _check(db: sqlite3.Connection, root: Path, read_only: bool = False) -> None:
    path = root / "runs.db"
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer hone (schema {version}, this hone knows "
            f"{SCHEMA_VERSION}); upgrade hone to read it"
        )
    present = _tables(db)
    if not present:
        _create_if_new(db, root)
        return
    missing = [t for t in TABLES if t not in present]
    if missing:
        raise StoreDamagedError(
            f"{path} is damaged: table(s) {', '.join(missing)} are missing; {_repair_hint(root)}"
        )
    if version < SCHEMA_VERSION:
        if read_only:
            raise ReadOnlyStoreError(
                f"{path} was written by an older hone and must be upgraded, which a read-only "
                "store does not allow; open it once where it is writable"
            )
        _migrate(db)
    for table, expected in COLUMNS.items():
        columns = {r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall()}
        if lost := [c for c in expected if c not in columns]:
            raise StoreDamagedError(
                f"{path} is damaged: column(s) {', '.join(lost)} of {table} are missing; "
                f"{_repair_hint(root)}"
            )


def _create_if_new(db: sqlite3.Connection, root: Path) -> None:
    """An index with no tables is new, unless run folders say it was emptied."""
    with _transaction(db):
        if _tables(db):  # another process created it since we looked
            return
        if folders := _run_folders(root):
            raise StoreError(
                f"{root / 'runs.db'} has no tables, but {folders} run folder(s) exist; "
                f"{_repair_hint(root)}"
            )
        _execute_schema(db)


def _migrate(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2: the owner columns (old runs have none; they are never judged dead)."""
    with _transaction(db):
        have = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
        for name, kind in _OWNER_COLUMNS:
            if name not in have:
                db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
