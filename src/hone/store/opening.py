"""Opening a run store's folder and index: created when new, read-only when this process
cannot write it (a read-only mount, another user's files) or the disk is too full even to
open it for writing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from hone.errors import DiskFullError, StoreDamagedError, StoreError
from hone.store.files import describe_os_error
from hone.store.guard import repair_hint
from hone.store.schema import open_index

__all__ = ["open_store"]


def _writable(root: Path) -> bool:
    index = root / "runs.db"
    return os.access(root, os.W_OK) and (not index.exists() or os.access(index, os.W_OK))


def _make_folder(root: Path) -> None:
    if root.is_dir():
        return
    parent = root.absolute().parent
    if not parent.is_dir():
        raise StoreError(
            f"cannot create the run store {root}: its parent folder {parent} does not exist "
            "(create it, or give another --store)"
        )
    try:
        root.mkdir()
    except FileExistsError:  # a file, or a store another process just created
        if not root.is_dir():
            raise StoreError(f"cannot use {root} as a run store: it is a file") from None


def open_store(root: Path) -> tuple[sqlite3.Connection, bool, DiskFullError | None]:
    """The index connection, whether the store is read-only, and the full-disk error that
    made it so (``None`` otherwise)."""
    if "\x00" in str(root):
        raise StoreError("the store path contains a NUL byte")
    try:
        _make_folder(root)
        read_only = not _writable(root)
        try:
            return open_index(root, read_only), read_only, None
        except DiskFullError as exc:  # too full even to open for writing: still readable
            if not (root / "runs.db").is_file():
                raise
            return open_index(root, read_only=True), True, exc
    except OSError as exc:
        raise StoreError(f"cannot open run store: {describe_os_error(exc, root)}") from None
    except sqlite3.DatabaseError as exc:
        raise StoreDamagedError(
            f"cannot open run store at {root}: {root / 'runs.db'} is not a readable SQLite "
            f"index ({exc}); {repair_hint(root)}"
        ) from None
