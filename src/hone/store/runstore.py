"""The run store: ``<root>/runs.db`` (SQLite, WAL) indexes runs; ``<root>/runs/<id>/`` holds files.

Every write is one short ``BEGIN IMMEDIATE`` transaction, so several processes can record runs
at once; readers never block writers in WAL mode. History is appended epoch by epoch while a run
trains, so an interrupted or crashed run keeps what it had recorded. Each run folder also holds
``run.json`` (the index row and, once the run ends, its history), so the index can be rebuilt
from the folders (``hone store repair``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hone.errors import ReadOnlyStoreError, StoreDamagedError, StoreError
from hone.store.artifacts import ArtifactsMixin
from hone.store.experiments import ExperimentsMixin, matching_ids, require_id, shown_ids
from hone.store.files import atomic_write_text, describe_os_error
from hone.store.guard import repair_hint
from hone.store.opening import open_store
from hone.store.owner import current_owner, is_alive
from hone.store.records import (
    RUN_COLUMNS,
    STATUSES,
    ExperimentRecord,
    RunRecord,
    clean_json,
    config_yaml,
    record_from_row,
    strict_json,
)

__all__ = [
    "MIN_DELETE_PREFIX",
    "STATUSES",
    "ExperimentRecord",
    "RunRecord",
    "RunStore",
    "clean_json",
    "resolve_store_root",
]

MIN_DELETE_PREFIX = 6  # the random suffix of an id has 6 characters
_SELECT = f"SELECT {RUN_COLUMNS} FROM runs"


def resolve_store_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit`` (config ``store:``, ``--store``), else ``$HONE_HOME``, else ``./hone-runs``."""
    return Path(explicit or os.environ.get("HONE_HOME") or "hone-runs")


class RunStore(ArtifactsMixin, ExperimentsMixin):
    """Open (creating if needed) the store at ``root``. ``read_only``: it cannot be written
    (a read-only mount, another user's files, a disk too full to open it for writing); it
    is read all the same, and writes say why they cannot be done."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = resolve_store_root(root)
        if "\x00" in str(self.root):
            raise StoreError("the store path contains a NUL byte")
        self._db, self.read_only, self._full = open_store(self.root)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def require_writable(self, what: str = "record runs", elsewhere: bool = True) -> None:
        """Refuse, saying what to do instead, when the store is read-only. ``elsewhere``:
        the work can go to another store (``--store``); else the store itself must be made
        writable."""
        if not self.read_only:
            return
        if self._full is not None:
            raise self._full
        instead = (
            "give a writable store with --store DIR (or $HONE_HOME)"
            if elsewhere
            else "make it writable first (remount it read-write, or fix its permissions), or "
            "work on a copy"
        )
        raise ReadOnlyStoreError(
            f"the run store {self.root} is read-only (a read-only mount, or no write "
            f"permission); reading commands work on it, but to {what} {instead}"
        )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.require_writable()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot write to {self.root / 'runs.db'}: {exc}") from None
        try:
            yield self._db
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise StoreError(f"cannot write to {self.root / 'runs.db'}: {exc}") from None
        except BaseException:
            self._rollback()
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise StoreError(f"cannot write to {self.root / 'runs.db'}: {exc}") from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # SQLite may already have rolled back (a full disk): nothing left to undo then.
        with contextlib.suppress(sqlite3.Error, StoreError):
            self._db.execute("ROLLBACK")

    # -- writing ------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def _new_run_folder(self, attempts: int = 8) -> tuple[str, Path]:
        """A fresh run id (its second and 24 random bits) and its folder. An id whose folder
        exists already (CI once met one) is drawn again, up to ``attempts`` times."""
        tries = 0
        while True:
            tries += 1
            run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
            folder = self.run_dir(run_id)
            try:
                folder.mkdir(parents=True, exist_ok=False)
                return run_id, folder
            except OSError as exc:
                if not isinstance(exc, FileExistsError) or tries >= attempts:
                    raise StoreError(describe_os_error(exc, folder)) from None

    def create_run(self, name: str, config: dict[str, Any], seed: int | None = None) -> str:
        self.require_writable()
        run_id, folder = self._new_run_folder()
        owner = current_owner()
        now = time.time()
        indexed = False
        try:
            atomic_write_text(folder / "config.yaml", config_yaml(config))
            with self._write() as db:
                db.execute(
                    "INSERT INTO runs (id, name, status, created, seed, config, pid, host, "
                    "proc_start, heartbeat) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (run_id, name, "running", now, seed, strict_json(config),
                     owner.pid, owner.host, owner.started, now),
                )  # fmt: skip
            indexed = True
            # Not synced: the run's final run.json is, and until then a power cut leaves
            # config.yaml (synced) for `hone store repair` to restore the run from.
            self._save_record_file(run_id, sync=False)
        except BaseException:  # a full disk, Ctrl-C: a run that never started leaves nothing
            if indexed:
                with contextlib.suppress(sqlite3.Error, StoreError), self._write() as db:
                    db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return run_id

    def reopen_run(self, run_id: str, keep_epochs: int) -> None:
        """Mark a run ``running`` again, owned by this process, for ``hone run --resume``:
        epochs after ``keep_epochs`` (recorded after its checkpoint) are dropped, since
        the resumed run trains them again."""
        owner = current_owner()
        with self._write() as db:
            db.execute("DELETE FROM epochs WHERE run_id = ? AND epoch > ?", (run_id, keep_epochs))
            db.execute(
                "UPDATE runs SET status='running', finished=NULL, message='', pid=?, host=?, "
                "proc_start=?, heartbeat=?, "
                "epochs_run=(SELECT COUNT(*) FROM epochs WHERE run_id = ?) WHERE id=?",
                (owner.pid, owner.host, owner.started, time.time(), run_id, run_id),
            )
        self._save_record_file(run_id)

    def heartbeat(self, run_id: str) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET heartbeat=? WHERE id=?", (time.time(), run_id))

    def append_epochs(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, logs) VALUES (?,?,?)",
                [(run_id, int(r["epoch"]), strict_json(r)) for r in rows],
            )
            db.execute(
                "UPDATE runs SET epochs_run = (SELECT COUNT(*) FROM epochs WHERE run_id = ?), "
                "heartbeat = ? WHERE id = ?",
                (run_id, time.time(), run_id),
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
                    strict_json(metrics),
                    wall_seconds,
                    message,
                    strict_json(extra or {}),
                    run_id,
                ),
            )
        self._save_record_file(run_id, with_history=True)

    def set_status(self, run_id: str, status: str, message: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE runs SET status=?, message=?, finished=COALESCE(finished, ?) WHERE id=?",
                (status, message, time.time(), run_id),
            )
        self._save_record_file(run_id, with_history=True)

    def update_results(self, run_id: str, metrics: dict[str, Any], extra: dict[str, Any]) -> None:
        """Replace a finished run's metrics and ``extra`` (an evaluation done after the run
        ended); its status, times and message stay."""
        with self._write() as db:
            db.execute(
                "UPDATE runs SET metrics=?, extra=? WHERE id=?",
                (strict_json(metrics), strict_json(extra), run_id),
            )
        self._save_record_file(run_id, with_history=True)

    def update_extra(self, run_id: str, values: dict[str, Any]) -> None:
        """Merge ``values`` into a finished run's ``extra`` (links between runs)."""
        extra = {**self.get_run(run_id, with_history=False).extra, **values}
        with self._write() as db:
            db.execute("UPDATE runs SET extra=? WHERE id=?", (strict_json(extra), run_id))
        self._save_record_file(run_id, with_history=True)

    def _save_record_file(self, run_id: str, with_history: bool = False, sync: bool = True) -> None:
        """``run.json``: what the index holds for this run, so ``repair`` can restore it."""
        folder = self.run_dir(run_id)
        if not folder.is_dir():
            return
        record = self.get_run(run_id, with_history=with_history)
        atomic_write_text(folder / "run.json", record.json_text(), sync)

    def delete_run(self, run_id: str, min_prefix: int = MIN_DELETE_PREFIX) -> str:
        text = require_id(run_id, "run")
        self.require_writable("delete a run", elsewhere=False)
        if len(text) < min_prefix:
            raise StoreError(
                f"refusing to delete by '{text}': give at least {min_prefix} characters of the "
                "run id (the last 6 are enough)"
            )
        run_id = self.resolve_id(text)
        record = self.get_run(run_id, with_history=False)
        pid = record.owner.get("pid")
        mine = pid == os.getpid()  # this process is not training it while it deletes it
        if record.status == "running" and self.alive(record) and not mine:
            raise StoreError(
                f"run {run_id} is still training (process {pid}); stop it first (Ctrl-C in its "
                "terminal), then delete it"
            )
        with self._write() as db:
            db.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM experiment_runs WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)
        return run_id

    # -- reading ------------------------------------------------------------------------------

    def resolve_id(self, prefix: str) -> str:
        """Accept a full id or a unique prefix (or suffix, the random part) of one."""
        prefix = require_id(prefix, "run")
        if self._db.execute("SELECT 1 FROM runs WHERE id = ?", (prefix,)).fetchone():
            return prefix  # a full id, by the primary key: no scan of every id (~3 ms in 10k)
        ids = matching_ids(self._db, "runs", prefix)
        if prefix in ids:
            return prefix
        if not ids:
            folders = self._unlisted_folders(prefix)
            if folders:
                raise StoreError(
                    f"run {folders[0]} has a folder in {self.root / 'runs'}, but the index "
                    f"({self.root / 'runs.db'}) does not list it: the index lost it or is "
                    f"damaged; {repair_hint(self.root)}"
                )
            raise StoreError(f"no run '{prefix}' in {self.root} (see `hone runs list`)")
        if len(ids) > 1:
            raise StoreError(f"run id '{prefix}' is ambiguous: {shown_ids(ids)}")
        return str(ids[0])

    def get_run(self, run_id: str, with_history: bool = True) -> RunRecord:
        run_id = self.resolve_id(run_id)
        row = self._db.execute(_SELECT + " WHERE id = ?", (run_id,)).fetchone()
        if row is None:  # the id index lists it, the table does not: one of them is damaged
            raise StoreDamagedError(
                f"{self.root / 'runs.db'} is damaged: it lists run {run_id} but cannot read its "
                f"row; {repair_hint(self.root)}"
            )
        record = record_from_row(row)
        if record.damaged:
            raise StoreError(
                f"run {run_id}: its row in {self.root / 'runs.db'} is damaged "
                f"({', '.join(record.damaged)}); run "
                f"`hone store repair --store {self.root}` to restore it from "
                f"{self.run_dir(run_id)}"
            )
        if with_history:
            record.history = self.history(run_id)
        return record

    def alive(self, record: RunRecord) -> bool:
        """False when the run says ``running`` but its process is gone."""
        o = record.owner
        return is_alive(o.get("pid"), o.get("host"), o.get("proc_start"), o.get("heartbeat"))

    def shown_status(self, record: RunRecord) -> str:
        """``killed`` for a run left ``running`` by a dead process; else its status."""
        if record.status == "running" and not self.alive(record):
            return "killed"
        if record.status == "stopped" and record.message.startswith("pruned"):
            return "pruned"  # an Optuna trial ended early on purpose
        return record.status

    def history(self, run_id: str) -> dict[str, list[Any]]:
        rows = self._db.execute(
            "SELECT logs FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,)
        ).fetchall()
        logs = []
        for (text,) in rows:
            try:
                entry = json.loads(text) if "\ufffd" not in text else None
            except (TypeError, ValueError):
                continue  # a damaged epoch row: the rest of the history still stands
            if isinstance(entry, dict):
                logs.append(entry)
        keys: list[str] = []
        for entry in logs:
            keys.extend(k for k in entry if k not in keys)
        return {k: [entry.get(k) for entry in logs] for k in keys}

    def damaged_histories(self) -> list[str]:
        """Runs with an epoch row that does not read back (the index writes ASCII JSON), or
        fewer epoch rows than they counted: a damaged page lost or changed them."""
        rows = self._db.execute(
            "SELECT run_id FROM epochs WHERE NOT json_valid(logs) OR logs GLOB '*[^ -~]*' "
            "OR json_extract(logs, '$.epoch') IS NOT epoch "
            "UNION SELECT id FROM runs WHERE epochs_run > "
            "(SELECT COUNT(*) FROM epochs WHERE epochs.run_id = runs.id)"
        ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def list_runs(self, limit: int | None = None, status: str | None = None) -> list[RunRecord]:
        """Runs newest first, damaged rows included (their ``damaged`` field says what)."""
        sql, args = _SELECT, list[Any]()
        if status and status not in ("killed",):
            sql += " WHERE status = ?"
            args.append(status)
        elif status == "killed":
            sql += " WHERE status IN ('running', 'killed')"
        sql += " ORDER BY created DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        records = [record_from_row(r) for r in self._db.execute(sql, args).fetchall()]
        if status == "killed":
            records = [r for r in records if self.shown_status(r) == "killed"]
        elif status == "running":
            records = [r for r in records if self.shown_status(r) == "running"]
        return records
