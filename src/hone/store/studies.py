"""Where `hone tune` keeps its Optuna studies.

New studies go to a journal file in the run store (``<store>/studies.journal``): Optuna's
``JournalStorage`` appends each write as one line to the file under a lock, so the processes
of ``--jobs`` share it, a study resumes from it, and ``optuna-dashboard <file>`` reads it.
Measured for hone's pattern (benchmarks/study_storage.py: a few parameters, one report per
epoch, a handful of attributes per trial), it costs a fraction of the tuned SQLite file's time
per trial. Each line is flushed to the operating system, not synced to the disk, the
durability SQLite's ``synchronous=NORMAL`` gives: a write survives a crash of the process.

A study already in the store's older SQLite file (``<store>/studies.db``) stays there and
resumes from it. That file is opened in WAL mode with ``synchronous=NORMAL``, as the run
store's own index is (Optuna writes every value in its own transaction; with SQLite's default
rollback journal each waits for the disk twice). ``--storage`` takes a journal file's path
(``*.journal``, ``*.log``) or any RDB URL, which goes to Optuna as it is.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import optuna
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from hone.store.sqlite import connect as sqlite_connect

try:
    import fcntl
except ImportError:  # Windows: Optuna's symlink lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "JOURNAL",
    "JOURNAL_SUFFIXES",
    "SQLITE_FILE",
    "default_storage",
    "find_storage",
    "is_journal",
    "open_storage",
    "store_storages",
]

SQLITE = "sqlite:///"
JOURNAL = "studies.journal"  # a store's studies, from issue 34 on
SQLITE_FILE = "studies.db"  # a store's studies before
JOURNAL_SUFFIXES = (".journal", ".log")


class _FlushedJournal(JournalFileBackend):
    """Optuna's journal file, each append flushed to the OS but not ``fsync``-ed (see the
    module docstring): the same file and lines, readable by any Optuna.

    Appends are serialised by ``flock`` on the journal file itself where the platform has it:
    a trial reports every epoch, and Optuna's symlink lock (a link created and removed around
    each append, made for file systems without ``fcntl`` locks) cost 0.13-0.25 ms an append
    against 0.01 ms (a 64-trial study appends 2,557 times: 0.16 s against 0.06 s). Each append
    is one ``write`` to a file opened for appending, so it lands whole at the end of the file
    even beside a plain Optuna process that takes the symlink lock instead."""

    def __init__(self, path: str) -> None:
        self.path, self.lock = path, JournalFileSymlinkLock(path)
        super().__init__(path, lock_obj=self.lock)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode()
        if fcntl is not None:
            with open(self.path, "ab") as f:
                fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
                f.write(data)
            return
        self.lock.acquire()
        try:
            with open(self.path, "ab") as f:
                f.write(data)
        finally:
            self.lock.release()


def is_journal(url: str) -> bool:
    """A journal file is given by its path (no URL scheme), as optuna-dashboard takes it."""
    return "://" not in url and url.endswith(JOURNAL_SUFFIXES)


def open_storage(url: str) -> str | optuna.storages.BaseStorage:
    """``url`` as Optuna storage: a ``JournalStorage`` for a journal file's path, a tuned
    ``RDBStorage`` for a plain SQLite file URL, else the URL itself (Optuna opens it)."""
    if is_journal(url):
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(_FlushedJournal(url))
    if not url.startswith(SQLITE) or "?" in url:
        return url
    path = url[len(SQLITE) :]  # sqlite:///rel/path or sqlite:////abs/path

    def connect() -> sqlite3.Connection:
        return sqlite_connect(path, foreign_keys=False, check_same_thread=False)

    kwargs: dict[str, Any] = {"creator": connect}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def store_storages(root: Path) -> list[str]:
    """The study storages a run store holds: its journal file and its older SQLite file,
    those that exist."""
    found = [str((root / JOURNAL).resolve())] if (root / JOURNAL).is_file() else []
    if (root / SQLITE_FILE).is_file():
        found.append(f"{SQLITE}{(root / SQLITE_FILE).resolve()}")
    return found


def _names(url: str) -> list[str]:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return [s.study_name for s in optuna.get_all_study_summaries(open_storage(url))]


def find_storage(root: Path, study_name: str) -> str | None:
    """The storage in the store that holds ``study_name``, if one does."""
    return next((url for url in store_storages(root) if study_name in _names(url)), None)


def default_storage(root: Path, study_name: str) -> str:
    """Where ``study_name`` lives in the store: the SQLite file for a study begun there
    before, else the journal file."""
    legacy = root / SQLITE_FILE
    if legacy.is_file():
        url = f"{SQLITE}{legacy.resolve()}"
        if study_name in _names(url):
            return url
    return str((root / JOURNAL).resolve())
