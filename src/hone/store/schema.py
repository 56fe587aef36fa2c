"""The index's schema, its version, and opening it without ever resetting it silently.

``runs.db`` carries ``PRAGMA user_version``. A missing or emptied index beside existing run
folders, a dropped table, or an index from a newer hone is an error that says what to do
(``hone runs repair``), never a fresh empty index that makes runs vanish.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hone.errors import StoreError

__all__ = ["SCHEMA_VERSION", "TABLES", "connect", "open_index"]

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


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def _run_folders(root: Path) -> int:
    runs = root / "runs"
    return sum(1 for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else 0


def create_index(db: sqlite3.Connection) -> None:
    db.executescript(_SCHEMA)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def open_index(root: Path) -> sqlite3.Connection:
    """Open ``root/runs.db``, creating it only for a new store and migrating an old one."""
    path = root / "runs.db"
    fresh = not path.exists() or path.stat().st_size == 0
    folders = _run_folders(root)
    repair = f"run `hone runs repair --store {root}` to rebuild the index from the run folders"
    if fresh and folders:
        raise StoreError(
            f"{path} is missing or empty, but {root / 'runs'} holds {folders} run folder(s); "
            f"{repair}"
        )
    db = connect(path)
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError:
        db.close()
        raise
    if version > SCHEMA_VERSION:
        db.close()
        raise StoreError(
            f"{path} was written by a newer hone (schema {version}, this hone knows "
            f"{SCHEMA_VERSION}); upgrade hone to read it"
        )
    if not present:
        if folders:
            db.close()
            raise StoreError(f"{path} has no tables, but {folders} run folder(s) exist; {repair}")
        create_index(db)
        return db
    missing = [t for t in TABLES if t not in present]
    if missing:
        db.close()
        raise StoreError(f"{path} is damaged: table(s) {', '.join(missing)} are missing; {repair}")
    if version < SCHEMA_VERSION:
        _migrate(db)
    columns = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
    lost = [c for c in _RUN_COLUMNS if c not in columns]
    if lost:
        db.close()
        raise StoreError(
            f"{path} is damaged: column(s) {', '.join(lost)} of runs are missing; {repair}"
        )
    return db


def _migrate(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2: the owner columns (old runs have none; they are never judged dead)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        have = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
        for name, kind in _OWNER_COLUMNS:
            if name not in have:
                db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
