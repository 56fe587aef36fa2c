"""``hone store check | repair`` (also ``hone runs check | repair``): find where the index is
damaged or disagrees with the run folders, and rebuild it.

Check runs SQLite's ``integrity_check`` on ``runs.db`` and compares its rows with the folders.
Repair keeps a damaged ``runs.db`` beside the new one (``runs.db.damaged-<time>``), carries
over every row that can still be read from it (``hone.store.salvage``), and indexes every run
folder whose row is missing, damaged or incomplete from the folder's ``run.json`` (else its
``config.yaml``). A run whose folder is intact is always back after a repair; a row whose
folder was deleted gets its folder written again from the row (its weights are gone).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hone.errors import StoreError
from hone.store.experiments import read_experiment_file
from hone.store.files import atomic_write_text
from hone.store.guard import describe, quick_check
from hone.store.records import STATUSES, clean_json, config_yaml, record_from_row
from hone.store.runstore import RunStore, resolve_store_root
from hone.store.salvage import salvage
from hone.store.schema import COLUMNS, connect, create_index
from hone.store.sqlite import connect as sqlite_connect

__all__ = ["StoreCheck", "check_store", "cleanup_killed", "insert_record", "repair_store"]

_RUN_ID = re.compile(r"[\w.-]{1,200}")  # what a folder name (and so a run id) can be


@dataclass
class StoreCheck:
    root: str
    indexed: int = 0
    folders: int = 0
    not_indexed: list[str] = field(default_factory=list)  # folders the index does not list
    no_folder: list[str] = field(default_factory=list)  # index rows without a folder
    damaged: list[str] = field(default_factory=list)  # index rows that cannot be read
    killed: list[str] = field(default_factory=list)  # 'running' rows whose process is gone
    problem: str = ""  # the index itself is damaged or cannot be opened
    integrity: list[str] = field(default_factory=list)  # what SQLite's integrity_check found
    readable: bool = True  # False: the index could not be read at all

    @property
    def ok(self) -> bool:
        damaged = self.not_indexed or self.no_folder or self.damaged
        return not (damaged or self.problem or self.integrity)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


def _folders(root: Path) -> list[str]:
    runs = root / "runs"
    return sorted(p.name for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []


def _integrity(db_path: Path) -> list[str]:
    """``integrity_check`` on the file as it is (read-only: checking never changes it)."""
    if not db_path.is_file():
        return []
    try:
        db = sqlite_connect(db_path, read_only=True)
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return ["SQLite cannot read it: not a database, or its first page is damaged"]
    try:
        return quick_check(db, thorough=True)
    finally:
        db.close()


def check_store(root: str | Path | None) -> StoreCheck:
    path = resolve_store_root(root)
    result = StoreCheck(str(path))
    folders = _folders(path)
    result.folders = len(folders)
    result.integrity = _integrity(path / "runs.db")
    try:
        with RunStore(path) as rs:
            records = rs.list_runs()
            result.indexed = len(records)
            ids = {r.id for r in records}
            result.not_indexed = [f for f in folders if f not in ids]
            result.no_folder = sorted(r.id for r in records if not rs.run_dir(r.id).is_dir())
            damaged = {r.id for r in records if r.damaged} | set(rs.damaged_histories())
            result.damaged = sorted(damaged & ids)
            result.killed = sorted(r.id for r in records if rs.shown_status(r) == "killed")
    except StoreError as exc:
        result.problem = str(exc)
        result.not_indexed = folders
        result.readable = False
    if result.integrity and not result.problem:
        result.problem = f"{path / 'runs.db'} is damaged ({describe(result.integrity)})"
    return result


def _record_from_folder(folder: Path) -> dict[str, Any]:
    """What ``run.json`` says, else a minimal record from ``config.yaml``."""
    try:
        data = json.loads((folder / "run.json").read_text())
        if isinstance(data, dict) and data.get("id") == folder.name:
            return data
    except (OSError, ValueError):
        pass
    try:
        config = yaml.safe_load((folder / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    config = config if isinstance(config, dict) else {}
    return {
        "id": folder.name,
        "name": str(config.get("name", "run")),
        "status": "failed",
        "created": folder.stat().st_mtime,
        "config": config,
        "seed": config.get("seed") if isinstance(config.get("seed"), int) else None,
        "message": "restored by `hone store repair`: the run's record was lost",
    }


def insert_record(db: sqlite3.Connection, data: dict[str, Any]) -> None:
    """Index one run from its record (``run.json``): the row and its epochs."""
    status = data.get("status") if data.get("status") in STATUSES else "failed"
    history = data.get("history") or {}
    db.execute(
        "INSERT OR REPLACE INTO runs (id, name, status, created, finished, seed, config, metrics, "
        "epochs_run, wall_seconds, message, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            data["id"],
            str(data.get("name") or "run"),
            status,
            data.get("created") or time.time(),
            data.get("finished"),
            data.get("seed"),
            json.dumps(clean_json(data.get("config") or {})),
            json.dumps(clean_json(data.get("metrics") or {})),
            int(data.get("epochs_run") or 0),
            data.get("wall_seconds"),
            str(data.get("message") or ""),
            json.dumps(clean_json(data.get("extra") or {})),
        ),
    )
    epochs = history.get("epoch") or []
    if epochs:  # the record's history replaces whatever (damaged) rows the index had
        db.execute("DELETE FROM epochs WHERE run_id = ?", (data["id"],))
    for i, epoch in enumerate(epochs):
        row = {k: v[i] for k, v in history.items() if isinstance(v, list) and i < len(v)}
        db.execute(
            "INSERT OR REPLACE INTO epochs (run_id, epoch, logs) VALUES (?,?,?)",
            (data["id"], int(epoch), json.dumps(clean_json(row))),
        )


def _index_problem(path: Path) -> str:
    """Why the index must be rebuilt from scratch ("" when it can be repaired in place)."""
    integrity = _integrity(path / "runs.db")
    if integrity:
        return describe(integrity)
    try:
        with RunStore(path) as rs:
            rs.list_runs(limit=1)
    except StoreError as exc:
        return str(exc)
    return ""


def _move_aside(db_path: Path) -> Path | None:
    """Keep the damaged index (and its WAL) beside the new one, under a new name."""
    if not db_path.exists():
        return None
    moved = db_path.with_name(f"runs.db.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while moved.exists():
        moved = moved.with_name(f"{moved.name.split('~')[0]}~{n}")
        n += 1
    os.replace(db_path, moved)
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name("runs.db" + suffix)
        if side.exists():
            os.replace(side, str(moved) + suffix)
    return moved


def _intact(row: dict[str, Any]) -> bool:
    return not any(isinstance(v, str) and "\ufffd" in v for v in row.values())


def _insert(db: sqlite3.Connection, table: str, row: dict[str, Any], verb: str) -> None:
    """Insert the cells of ``row`` whose column the schema knows (a damaged schema page can
    name a column wrongly: that cell is left out)."""
    cells = {k: v for k, v in row.items() if k in COLUMNS[table]}
    names, marks = ", ".join(cells), ", ".join("?" * len(cells))
    db.execute(f"INSERT OR {verb} INTO {table} ({names}) VALUES ({marks})", tuple(cells.values()))


def _good_epochs(rows: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        r
        for r in rows.get("epochs", [])
        if _intact(r)
        and isinstance(r.get("run_id"), str)
        and _good_json(r.get("logs"))
        and json.loads(r["logs"]).get("epoch") == r.get("epoch")  # a changed header byte
    ]


def _carry_over_runs(db: sqlite3.Connection, rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Insert the runs and experiments read from the damaged index whose cells are intact;
    returns the runs that kept every epoch they counted (their folder adds nothing)."""
    counts: dict[str, int] = {}
    for row in _good_epochs(rows):
        counts[str(row["run_id"])] = counts.get(str(row["run_id"]), 0) + 1
    whole: set[str] = set()
    for row in rows.get("runs", []):
        run_id = row.get("id")
        if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or not _intact(row):
            continue  # a damaged cell: the run comes back from its folder
        if record_from_row(tuple(row.get(c) for c in _RECORD_COLUMNS)).damaged:
            continue
        _insert(db, "runs", row, "REPLACE")
        if counts.get(run_id, 0) >= int(row.get("epochs_run") or 0):
            whole.add(run_id)
    for table in ("experiments", "experiment_runs"):
        known = {r[0] for r in db.execute("SELECT id FROM experiments").fetchall()}
        for row in rows.get(table, []):
            parent = row.get("id") if table == "experiments" else row.get("experiment_id")
            if _intact(row) and (table == "experiments" or parent in known):
                with contextlib.suppress(sqlite3.IntegrityError):  # a cell lost: its file
                    _insert(db, table, row, "IGNORE")  # restores the experiment below
    return whole


def _carry_over_epochs(
    db: sqlite3.Connection, rows: dict[str, list[dict[str, Any]]], restored: list[str]
) -> None:
    """The damaged index's epochs of each run indexed without a history (carried over, or
    restored from a folder whose record has none: a run killed while it trained has its
    history only in the index). A history restored from a folder is whole and stays as
    it is. Each restored run then counts the epochs it has."""
    indexed = {r[0] for r in db.execute("SELECT id FROM runs").fetchall()}
    indexed -= {r[0] for r in db.execute("SELECT DISTINCT run_id FROM epochs").fetchall()}
    touched = set(restored)
    for row in _good_epochs(rows):
        if row.get("run_id") in indexed:
            _insert(db, "epochs", row, "IGNORE")
            touched.add(row["run_id"])
    for run_id in touched:
        db.execute(
            "UPDATE runs SET epochs_run = MAX(epochs_run, "
            "(SELECT COUNT(*) FROM epochs WHERE run_id = ?)) WHERE id = ?",
            (run_id, run_id),
        )


_RECORD_COLUMNS = ("id", "name", "status", "created", "finished", "seed", "config", "metrics",
                   "epochs_run", "wall_seconds", "message", "extra", "pid", "host",
                   "proc_start", "heartbeat")  # fmt: skip


def _good_json(text: Any) -> bool:
    try:
        return isinstance(text, str) and isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _fresh_index(path: Path) -> tuple[Path | None, dict[str, list[dict[str, Any]]]]:
    """Move the damaged index aside, read what survives in it, start an empty one."""
    db_path = path / "runs.db"
    moved = _move_aside(db_path)
    rows = salvage(moved) if moved is not None else {}
    db = connect(db_path)
    try:
        create_index(db)
    finally:
        db.close()
    return moved, rows


def repair_store(root: str | Path | None) -> dict[str, Any]:
    """Rebuild the index from what survives in it and from the run folders and experiment
    files. Returns the runs restored from folders, the runs carried over from the damaged
    index, the experiments restored and where the damaged index was kept."""
    path = resolve_store_root(root)
    if not path.is_dir():
        raise StoreError(f"no run store at {path}")
    if not os.access(path, os.W_OK):
        RunStore(path).require_writable("repair it", elsewhere=False)
    problem = _index_problem(path)
    moved, rows = _fresh_index(path) if problem else (None, {})
    restored, experiments = [], 0
    with RunStore(path) as rs:
        records = {r.id: r for r in rs.list_runs()}
        damaged = {r.id for r in records.values() if r.damaged} | set(rs.damaged_histories())
        with rs._write() as db:
            whole = _carry_over_runs(db, rows)
            for name in _folders(path):
                record = records.get(name)
                if (record is None and name not in whole) or name in damaged:
                    insert_record(db, _record_from_folder(path / "runs" / name))
                    restored.append(name)
            _carry_over_epochs(db, rows, restored)
        rebuilt = [r.id for r in rs.list_runs() if not r.damaged and not rs.run_dir(r.id).is_dir()]
        for run_id in rebuilt:
            _folder_from_index(rs, run_id)
        for file in rs.experiment_files():
            try:
                rs.restore_experiment(read_experiment_file(file))
                experiments += 1
            except (StoreError, KeyError, sqlite3.Error):
                continue
    return {
        "restored": restored,
        "rebuilt": rebuilt,
        "carried_over": sorted(whole),
        "experiments": experiments,
        "moved_index": str(moved or ""),
        "problem": problem,
    }


def _folder_from_index(rs: RunStore, run_id: str) -> None:
    """A run whose folder was deleted but whose index row survives: its folder written
    again from the row (config.yaml, and run.json with its history), so the two agree and
    a later repair can restore it from the folder. Its weights and telemetry are gone."""
    record = rs.get_run(run_id, with_history=True)
    folder = rs.run_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "config.yaml", config_yaml(record.config))
    atomic_write_text(folder / "run.json", record.json_text())


def cleanup_killed(root: str | Path | None) -> list[str]:
    """Record ``killed`` for runs left ``running`` by a process that no longer exists."""
    with RunStore(root) as rs:
        dead = [r.id for r in rs.list_runs(status="killed")]
        if dead:
            rs.require_writable("record that they were killed", elsewhere=False)
        for run_id in dead:
            rs.set_status(
                run_id, "killed", "the process training this run died (kill -9 or a crash)"
            )
    return dead
