"""Writing files so that a crash, a full disk or a planted link never leaves a half-written or
misdirected file: write a fresh temporary file in the target's folder, then rename it over the
target. ``os.replace`` replaces a symbolic link at the destination instead of following it."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from hone.errors import StoreError

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "describe_os_error"]


def describe_os_error(exc: OSError, path: Path | str) -> str:
    """One sentence naming the path and what to do."""
    if exc.errno == errno.ENOSPC:
        return f"{path}: the disk is full; free some space and try again"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{path}: cannot write here ({exc.strerror}); choose a writable --store folder"
    return f"{path}: {exc.strerror or exc}"


def atomic_write(path: Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a new temporary file beside ``path``, then rename it into
    place. Raises ``StoreError`` naming ``path`` when the disk is full or read-only."""
    path = Path(path)
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(tmp)
        os.replace(tmp, path)
        tmp = ""
    except OSError as exc:
        raise StoreError(describe_os_error(exc, path)) from None
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_write(path, write)


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))
