"""``hone runs check`` and ``hone runs repair``: find where the index and the run folders
disagree, and rebuild the index from the folders (``run.json``, else ``config.yaml``)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hone.errors import StoreError
from hone.store.experiments import read_experiment_file
from hone.store.records import STATUSES, clean_json
from hone.store.runstore import RunStore, resolve_store_root
from hone.store.schema import connect, create_index

__all__ = ["StoreCheck", "check_store", "cleanup_killed", "insert_record", "repair_store"]


@dataclass
class StoreCheck:
    root: str
    indexed: int = 0
    folders: int = 0
    not_indexed: list[str] = field(default_factory=list)  # folders the index does not list
    no_folder: list[str] = field(default_factory=list)  # index rows without a folder
    damaged: list[str] = field(default_factory=list)  # index rows that cannot be read
    killed: list[str] = field(default_factory=list)  # 'running' rows whose process is gone
    problem: str = ""  # the index itself cannot be opened

    @property
    def ok(self) -> bool:
        return not (self.not_indexed or self.no_folder or self.damaged or self.problem)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


def _folders(root: Path) -> list[str]:
    runs = root / "runs"
    return sorted(p.name for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []


def check_store(root: str | Path | None) -> StoreCheck:
    path = resolve_store_root(root)
    result = StoreCheck(str(path))
    folders = _folders(path)
    result.folders = len(folders)
    try:
        rs = RunStore(path)
    except StoreError as exc:
        result.problem = str(exc)
        result.not_indexed = folders
        return result
    with rs:
        records = rs.list_runs()
        result.indexed = len(records)
        ids = {r.id for r in records}
        result.not_indexed = [f for f in folders if f not in ids]
        result.no_folder = sorted(r.id for r in records if not rs.run_dir(r.id).is_dir())
        result.damaged = sorted(r.id for r in records if r.damaged)
        result.killed = sorted(r.id for r in records if rs.shown_status(r) == "killed")
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
        "message": "restored by `hone runs repair`: the run's record was lost",
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
    for i, epoch in enumerate(epochs):
        row = {k: v[i] for k, v in history.items() if isinstance(v, list) and i < len(v)}
        db.execute(
            "INSERT OR REPLACE INTO epochs (run_id, epoch, logs) VALUES (?,?,?)",
            (data["id"], int(epoch), json.dumps(clean_json(row))),
        )


def repair_store(root: str | Path | None) -> dict[str, Any]:
    """Rebuild the index from the run folders and experiment files.

    A damaged ``runs.db`` is kept beside as ``runs.db.broken-<time>``; rows it still holds
    are not lost, because every run folder carries its own ``run.json``.
    """
    path = resolve_store_root(root)
    if not path.is_dir():
        raise StoreError(f"no run store at {path}")
    db_path = path / "runs.db"
    moved = None
    try:
        RunStore(path).close()
    except StoreError:
        if db_path.exists():
            moved = db_path.with_name(f"runs.db.broken-{time.strftime('%Y%m%d-%H%M%S')}")
            db_path.rename(moved)
            for suffix in ("-wal", "-shm"):
                side = db_path.with_name("runs.db" + suffix)
                if side.exists():
                    shutil.move(str(side), str(moved) + suffix)
        db = connect(db_path)
        create_index(db)
        db.close()
    restored, experiments = [], 0
    with RunStore(path) as rs:
        known = {r.id for r in rs.list_runs()}
        damaged = [r.id for r in rs.list_runs() if r.damaged]
        with rs._write() as db:
            for name in _folders(path):
                if name not in known or name in damaged:
                    insert_record(db, _record_from_folder(path / "runs" / name))
                    restored.append(name)
        for file in rs.experiment_files():
            try:
                rs.restore_experiment(read_experiment_file(file))
                experiments += 1
            except (StoreError, KeyError, sqlite3.Error):
                continue
    return {"restored": restored, "experiments": experiments, "moved_index": str(moved or "")}


def cleanup_killed(root: str | Path | None) -> list[str]:
    """Record ``killed`` for runs left ``running`` by a process that no longer exists."""
    with RunStore(root) as rs:
        dead = [r.id for r in rs.list_runs(status="killed")]
        for run_id in dead:
            rs.set_status(
                run_id, "killed", "the process training this run died (kill -9 or a crash)"
            )
    return dead
