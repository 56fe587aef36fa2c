"""The run store: ``<root>/runs.db`` (SQLite, WAL) indexes runs; ``<root>/runs/<id>/`` holds files.

Every write is one short ``BEGIN IMMEDIATE`` transaction, so several processes can record runs
at once; readers never block writers in WAL mode. History is appended epoch by epoch while a run
trains, so an interrupted or crashed run keeps what it had recorded.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hone.errors import StoreError

__all__ = [
    "STATUSES",
    "ExperimentRecord",
    "RunRecord",
    "RunStore",
    "clean_json",
    "resolve_store_root",
]

STATUSES = ("running", "completed", "interrupted", "diverged", "failed")

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
    extra TEXT NOT NULL DEFAULT '{}'
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


def resolve_store_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit`` (config ``store:``, ``--store``), else ``$HONE_HOME``, else ``./hone-runs``."""
    return Path(explicit or os.environ.get("HONE_HOME") or "hone-runs")


def clean_json(value: Any) -> Any:
    """Replace NaN/inf by ``None`` recursively so the result is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


@dataclass
class RunRecord:
    id: str
    name: str
    status: str
    created: float
    finished: float | None
    seed: int | None
    config: dict[str, Any]
    metrics: dict[str, Any]
    epochs_run: int
    wall_seconds: float | None
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return clean_json(self.__dict__)  # type: ignore[no-any-return]


@dataclass
class ExperimentRecord:
    id: str
    kind: str
    name: str
    status: str
    created: float
    finished: float | None
    spec: dict[str, Any]
    summary: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)  # {variant, seed, run_id}

    def to_json(self) -> dict[str, Any]:
        return clean_json(self.__dict__)  # type: ignore[no-any-return]


class ExperimentsMixin:
    """Experiments (compare, improve, tune re-runs): a spec and the runs that finished for it.

    A run is linked only once it completed, so resuming re-runs exactly what is missing.
    """

    _db: sqlite3.Connection
    _write: Any  # RunStore's write transaction

    def create_experiment(self, kind: str, name: str, spec: dict[str, Any]) -> str:
        exp_id = "exp-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        with self._write() as db:
            db.execute(
                "INSERT INTO experiments (id, kind, name, status, created, spec) "
                "VALUES (?,?,?,?,?,?)",
                (exp_id, kind, name, "running", time.time(), json.dumps(clean_json(spec))),
            )
        return exp_id

    def link_run(self, exp_id: str, variant: str, seed: int, run_id: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO experiment_runs (experiment_id, variant, seed, run_id) "
                "VALUES (?,?,?,?)",
                (exp_id, variant, seed, run_id),
            )

    def finish_experiment(self, exp_id: str, status: str, summary: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE experiments SET status=?, finished=?, summary=? WHERE id=?",
                (status, time.time(), json.dumps(clean_json(summary)), exp_id),
            )

    def update_spec(self, exp_id: str, spec: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE experiments SET spec=? WHERE id=?", (json.dumps(clean_json(spec)), exp_id)
            )

    def resolve_experiment(self, prefix: str) -> str:
        ids = _matching_ids(self._db, "experiments", prefix)
        if prefix in ids:
            return prefix
        if len(ids) != 1:
            what = "ambiguous" if ids else "not found"
            raise StoreError(f"experiment '{prefix}' {what} (see `hone experiments list`)")
        return str(ids[0])

    def get_experiment(self, exp_id: str) -> ExperimentRecord:
        exp_id = self.resolve_experiment(exp_id)
        row = self._db.execute(
            "SELECT id, kind, name, status, created, finished, spec, summary FROM experiments "
            "WHERE id = ?",
            (exp_id,),
        ).fetchone()
        runs = [
            {"variant": v, "seed": s, "run_id": r}
            for v, s, r in self._db.execute(
                "SELECT variant, seed, run_id FROM experiment_runs WHERE experiment_id = ? "
                "ORDER BY variant, seed",
                (exp_id,),
            )
        ]
        return _experiment(row, runs)

    def list_experiments(self, limit: int = 50) -> list[ExperimentRecord]:
        rows = self._db.execute(
            "SELECT id, kind, name, status, created, finished, spec, summary FROM experiments "
            "ORDER BY created DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [_experiment(r, []) for r in rows]


class RunStore(ExperimentsMixin):
    """Open (creating if needed) the store at ``root``."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = resolve_store_root(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.root / "runs.db", timeout=60, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open run store at {self.root}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- writing ------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def create_run(self, name: str, config: dict[str, Any], seed: int | None = None) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        folder = self.run_dir(run_id)
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        with self._write() as db:
            db.execute(
                "INSERT INTO runs (id, name, status, created, seed, config) VALUES (?,?,?,?,?,?)",
                (run_id, name, "running", time.time(), seed, json.dumps(clean_json(config))),
            )
        return run_id

    def append_epochs(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, logs) VALUES (?,?,?)",
                [(run_id, int(r["epoch"]), json.dumps(clean_json(r))) for r in rows],
            )
            db.execute(
                "UPDATE runs SET epochs_run = (SELECT COUNT(*) FROM epochs WHERE run_id = ?) "
                "WHERE id = ?",
                (run_id, run_id),
            )

    def finish_run(
        self,
        run_id: str,
        status: str,
        metrics: dict[str, Any],
        wall_seconds: float,
        message: str = "",
        extra: dict[str, Any] | None = None,
    ) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._write() as db:
            db.execute(
                "UPDATE runs SET status=?, finished=?, metrics=?, wall_seconds=?, message=?, "
                "extra=? WHERE id=?",
                (
                    status,
                    time.time(),
                    json.dumps(clean_json(metrics)),
                    wall_seconds,
                    message,
                    json.dumps(clean_json(extra or {})),
                    run_id,
                ),
            )

    def save_weights(self, run_id: str, state_dict: dict[str, Any]) -> Path:
        """Write weights with safetensors (no pickled code), atomically."""
        from safetensors.torch import save_file

        path = self.run_dir(run_id) / "weights.safetensors"
        tmp = path.with_suffix(".tmp")
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
        save_file(tensors, str(tmp))
        os.replace(tmp, path)
        return path

    def load_weights(self, run_id: str) -> dict[str, Any]:
        from safetensors.torch import load_file

        path = self.run_dir(self.resolve_id(run_id)) / "weights.safetensors"
        if not path.is_file():
            raise StoreError(f"run {run_id} has no saved weights ({path} is missing)")
        return dict(load_file(str(path)))

    def save_json(self, run_id: str, name: str, obj: Any) -> Path:
        path = self.run_dir(run_id) / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(clean_json(obj), indent=1))
        os.replace(tmp, path)
        return path

    def load_json(self, run_id: str, name: str) -> Any:
        path = self.run_dir(self.resolve_id(run_id)) / name
        if not path.is_file():
            raise StoreError(f"run {run_id} has no {name}")
        return json.loads(path.read_text())

    def delete_run(self, run_id: str) -> str:
        run_id = self.resolve_id(run_id)
        with self._write() as db:
            db.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)
        return run_id

    # -- reading ------------------------------------------------------------------------------

    def resolve_id(self, prefix: str) -> str:
        """Accept a full id or a unique prefix (or suffix, the random part) of one."""
        ids = _matching_ids(self._db, "runs", prefix)
        if prefix in ids:
            return prefix
        if not ids:
            raise StoreError(f"no run '{prefix}' in {self.root} (see `hone runs list`)")
        if len(ids) > 1:
            raise StoreError(f"run id '{prefix}' is ambiguous: {', '.join(ids[:5])}")
        return str(ids[0])

    def get_run(self, run_id: str, with_history: bool = True) -> RunRecord:
        run_id = self.resolve_id(run_id)
        row = self._db.execute(_SELECT + " WHERE id = ?", (run_id,)).fetchone()
        record = _record(row)
        if with_history:
            record.history = self.history(run_id)
        return record

    def history(self, run_id: str) -> dict[str, list[Any]]:
        rows = self._db.execute(
            "SELECT logs FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,)
        ).fetchall()
        logs = [json.loads(r[0]) for r in rows]
        keys: list[str] = []
        for entry in logs:
            keys.extend(k for k in entry if k not in keys)
        return {k: [entry.get(k) for entry in logs] for k in keys}

    def list_runs(self, limit: int | None = None, status: str | None = None) -> list[RunRecord]:
        sql, args = _SELECT, list[Any]()
        if status:
            sql += " WHERE status = ?"
            args.append(status)
        sql += " ORDER BY created DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_record(r) for r in self._db.execute(sql, args).fetchall()]


_SELECT = (
    "SELECT id, name, status, created, finished, seed, config, metrics, epochs_run, "
    "wall_seconds, message, extra FROM runs"
)


def _experiment(row: tuple[Any, ...], runs: list[dict[str, Any]]) -> ExperimentRecord:
    id_, kind, name, status, created, finished, spec, summary = row
    return ExperimentRecord(
        id_, kind, name, status, created, finished, json.loads(spec), json.loads(summary), runs
    )


def _matching_ids(db: sqlite3.Connection, table: str, text: str) -> list[str]:
    """Ids in ``table`` that start or end with ``text`` (LIKE wildcards in it are literal)."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    rows = db.execute(
        f"SELECT id FROM {table} WHERE id LIKE ? ESCAPE '!' OR id LIKE ? ESCAPE '!'",
        (escaped + "%", "%" + escaped),
    ).fetchall()
    return sorted({r[0] for r in rows})


def _record(row: tuple[Any, ...]) -> RunRecord:
    (
        id_,
        name,
        status,
        created,
        finished,
        seed,
        config,
        metrics,
        epochs_run,
        wall,
        message,
        extra,
    ) = row
    return RunRecord(
        id_,
        name,
        status,
        created,
        finished,
        seed,
        json.loads(config),
        json.loads(metrics),
        epochs_run,
        wall,
        message,
        json.loads(extra),
    )
