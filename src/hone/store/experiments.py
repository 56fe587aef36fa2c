"""Experiments (compare, improve, tune re-runs): a spec and the runs that finished for it.

A run is linked only once it completed, so resuming re-runs exactly what is missing. Each
experiment is also written to ``<store>/experiments/<id>.json`` (spec, links, summary), so
``hone store repair`` can rebuild the index from files alone.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from hone.errors import StoreDamagedError, StoreError
from hone.store.files import atomic_write_text
from hone.store.guard import repair_hint
from hone.store.records import ExperimentRecord, clean_json, experiment_from_row

__all__ = ["ExperimentsMixin", "matching_ids", "require_id", "shown_ids"]

MIN_ID_TEXT = 1  # an id, a prefix or a suffix of one; never empty


def require_id(text: str, what: str) -> str:
    """The id as given, stripped; empty or whitespace is an error (an unset ``$ID``)."""
    if not isinstance(text, str) or not text.strip():
        raise StoreError(
            f"the {what} id is empty; give an id or a unique part of one "
            f"(see `hone {'runs' if what == 'run' else 'experiments'} list`)"
        )
    if "\x00" in text or len(text) > 200:
        raise StoreError(f"'{text[:40]}' is not a {what} id")
    return text.strip()


def matching_ids(db: sqlite3.Connection, table: str, text: str) -> list[str]:
    """Ids in ``table`` that start or end with ``text`` (LIKE wildcards in it are literal)."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    rows = db.execute(
        f"SELECT id FROM {table} WHERE id LIKE ? ESCAPE '!' OR id LIKE ? ESCAPE '!'",
        (escaped + "%", "%" + escaped),
    ).fetchall()
    return sorted({r[0] for r in rows})


def shown_ids(ids: list[str], limit: int = 5) -> str:
    """The first ``limit`` ids, and how many more there are."""
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


class ExperimentsMixin:
    root: Path
    _db: sqlite3.Connection
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def _experiment_file(self, exp_id: str) -> Path:
        return self.root / "experiments" / f"{exp_id}.json"

    def _save_experiment_file(self, exp_id: str) -> None:
        record = self.get_experiment(exp_id)
        folder = self.root / "experiments"
        folder.mkdir(exist_ok=True)
        atomic_write_text(self._experiment_file(exp_id), json.dumps(record.to_json()))

    def create_experiment(self, kind: str, name: str, spec: dict[str, Any]) -> str:
        exp_id = "exp-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        with self._write() as db:
            db.execute(
                "INSERT INTO experiments (id, kind, name, status, created, spec) "
                "VALUES (?,?,?,?,?,?)",
                (exp_id, kind, name, "running", time.time(), json.dumps(clean_json(spec))),
            )
        self._save_experiment_file(exp_id)
        return exp_id

    def link_run(self, exp_id: str, variant: str, seed: int, run_id: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO experiment_runs (experiment_id, variant, seed, run_id) "
                "VALUES (?,?,?,?)",
                (exp_id, variant, seed, run_id),
            )
        self._save_experiment_file(exp_id)

    def finish_experiment(self, exp_id: str, status: str, summary: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE experiments SET status=?, finished=?, summary=? WHERE id=?",
                (status, time.time(), json.dumps(clean_json(summary)), exp_id),
            )
        self._save_experiment_file(exp_id)

    def set_experiment_status(self, exp_id: str, status: str) -> None:
        with self._write() as db:
            db.execute("UPDATE experiments SET status=? WHERE id=?", (status, exp_id))
        self._save_experiment_file(exp_id)

    def update_spec(self, exp_id: str, spec: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE experiments SET spec=? WHERE id=?", (json.dumps(clean_json(spec)), exp_id)
            )
        self._save_experiment_file(exp_id)

    def resolve_experiment(self, prefix: str) -> str:
        prefix = require_id(prefix, "experiment")
        ids = matching_ids(self._db, "experiments", prefix)
        if prefix in ids:
            return prefix
        if len(ids) != 1:
            what = f"is ambiguous: {shown_ids(ids)}" if ids else "was not found"
            raise StoreError(f"experiment '{prefix}' {what} (see `hone experiments list`)")
        return str(ids[0])

    def get_experiment(self, exp_id: str) -> ExperimentRecord:
        exp_id = self.resolve_experiment(exp_id)
        row = self._db.execute(
            "SELECT id, kind, name, status, created, finished, spec, summary FROM experiments "
            "WHERE id = ?",
            (exp_id,),
        ).fetchone()
        if row is None:  # the id index lists it, the table does not: one of them is damaged
            raise StoreDamagedError(
                f"{self.root / 'runs.db'} is damaged: it lists experiment {exp_id} but cannot "
                f"read its row; {repair_hint(self.root)}"
            )
        runs = [
            {"variant": v, "seed": s, "run_id": r}
            for v, s, r in self._db.execute(
                "SELECT variant, seed, run_id FROM experiment_runs WHERE experiment_id = ? "
                "ORDER BY variant, seed",
                (exp_id,),
            )
        ]
        return experiment_from_row(row, runs)

    def list_experiments(self, limit: int = 50, kind: str | None = None) -> list[ExperimentRecord]:
        """The newest ``limit`` experiments (of ``kind`` only, when given), newest first."""
        where = "WHERE kind = ? " if kind is not None else ""
        rows = self._db.execute(
            "SELECT id, kind, name, status, created, finished, spec, summary FROM experiments "
            f"{where}ORDER BY created DESC LIMIT ?",
            (*([kind] if kind is not None else []), limit),
        ).fetchall()
        return [experiment_from_row(r, []) for r in rows]

    def restore_experiment(self, data: dict[str, Any]) -> None:
        """Insert an experiment read from its file (``hone store repair``)."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO experiments (id, kind, name, status, created, finished, "
                "spec, summary) VALUES (?,?,?,?,?,?,?,?)",
                (
                    data["id"],
                    data.get("kind", "compare"),
                    data.get("name", ""),
                    data.get("status", "incomplete"),
                    data.get("created") or time.time(),
                    data.get("finished"),
                    json.dumps(data.get("spec") or {}),
                    json.dumps(data.get("summary") or {}),
                ),
            )
            for link in data.get("runs") or []:
                db.execute(
                    "INSERT OR IGNORE INTO experiment_runs (experiment_id, variant, seed, run_id) "
                    "VALUES (?,?,?,?)",
                    (data["id"], link["variant"], link["seed"], link["run_id"]),
                )

    def experiment_files(self) -> list[Path]:
        folder = self.root / "experiments"
        return sorted(folder.glob("exp-*.json")) if folder.is_dir() else []


def read_experiment_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict) or "id" not in data:
        raise StoreError(f"{path}: not an experiment record")
    return data
