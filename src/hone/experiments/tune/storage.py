"""The Optuna storage a study lives in.

A SQLite file (the default, ``<store>/studies.db``) is opened in WAL mode with
``synchronous=NORMAL``, as the run store's own index is: Optuna writes every suggested
parameter and reported value in its own transaction, and with SQLite's default rollback
journal each of those waits for the disk twice (measured: 48 ms of a trial's bookkeeping,
against 30 ms in WAL mode). A committed trial survives a crash of the process either way;
WAL also lets the processes of ``--jobs`` read while one writes. Other URLs go to Optuna as
they are.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import optuna

from hone.store.sqlite import connect as sqlite_connect

__all__ = ["open_storage"]

SQLITE = "sqlite:///"


def open_storage(url: str) -> str | optuna.storages.BaseStorage:
    """``url`` as Optuna storage: a tuned ``RDBStorage`` for a plain SQLite file URL, else
    the URL itself (Optuna opens it)."""
    if not url.startswith(SQLITE) or "?" in url:
        return url
    path = url[len(SQLITE) :]  # sqlite:///rel/path or sqlite:////abs/path

    def connect() -> sqlite3.Connection:
        return sqlite_connect(path, foreign_keys=False, check_same_thread=False)

    kwargs: dict[str, Any] = {"creator": connect}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
