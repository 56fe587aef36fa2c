"""Writing files so that a crash, a full disk or a planted link never leaves a half-written or
misdirected file: write a fresh temporary file in the target's folder, then rename it over the
target. ``os.replace`` replaces a symbolic link at the destination instead of following it.

A write that fails becomes one error naming the file, what went wrong and how much the write
needed: a full disk or a file-size limit (``DiskFullError``, the run failed), a read-only
folder (``ReadOnlyStoreError``), anything else (``StoreError``). Libraries that wrap the
operating system's error in their own (safetensors, ``torch.save``) are read the same way.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import resource
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from hone.errors import DiskFullError, ReadOnlyStoreError, StoreError

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "describe_os_error",
    "free_bytes",
    "human_bytes",
    "write_error",
]

_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
# How Rust's std::io (safetensors) and C++ (torch.save) print the OS error inside their own.
_CODE = re.compile(r"(?:os error|code:)\s*(\d+)")


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def free_bytes(path: Path) -> int | None:
    """Bytes free on the file system holding ``path`` (its nearest existing folder)."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _errno_of(exc: BaseException) -> int | None:
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    text = str(exc)
    if match := _CODE.search(text):
        return int(match.group(1))
    for code in (*_FULL, errno.EFBIG, *_READ_ONLY):
        if os.strerror(code) in text:
            return code
    return None


def _file_size_limit() -> int | None:
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def write_error(
    exc: BaseException, path: Path | str, needed: int | None = None, written: int = 0
) -> StoreError:
    """The error to raise for a write to ``path`` that failed with ``exc``. ``needed``: the
    bytes the write wanted, stated in the message; when the library does not say why it
    failed, it and ``written`` (what the write got to) are compared with the space left and
    with the process's file-size limit."""
    path = Path(path)
    code = _errno_of(exc)
    free = free_bytes(path.parent)
    limit = _file_size_limit()
    if code is None and needed is not None and free is not None and free < needed:
        code = errno.ENOSPC
    elif code is None and limit is not None and max(needed or 0, written) >= limit:
        code = errno.EFBIG
    need = f"writing it needs about {human_bytes(needed)}" if needed else "it could not be written"
    if code in _FULL:
        left = f", {human_bytes(free)} are free there" if free is not None else ""
        return DiskFullError(
            f"{path}: the disk is full ({need}{left}); free some space and try again, or "
            "write elsewhere with --store DIR"
        )
    if code == errno.EFBIG:
        return DiskFullError(
            f"{path}: the file is larger than this process may write ({need}; a file-size "
            "limit such as `ulimit -f`, or the file system's largest file); raise the limit, "
            "or write elsewhere with --store DIR"
        )
    if code in _READ_ONLY:
        return ReadOnlyStoreError(
            f"{path}: cannot write here ({os.strerror(code)}); the folder is read-only for "
            "this user. Write elsewhere: --store DIR for runs, --out FILE for a report"
        )
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)[:200]
    return StoreError(f"{path}: cannot write it ({detail})")


def describe_os_error(exc: OSError, path: Path | str) -> str:
    """One sentence naming the path and what to do."""
    return str(write_error(exc, path))


def _file_mode() -> int:
    """What ``open()`` gives a new file under this process's umask (read once, at import:
    reading the umask sets it, which is not safe beside other threads)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_MODE = _file_mode()


def atomic_write(
    path: Path,
    write: Callable[[str], None],
    needed: int | None = None,
    errors: tuple[type[BaseException], ...] = (),
) -> Path:
    """Call ``write(tmp_path)`` on a new temporary file beside ``path``, then rename it into
    place; on failure the temporary file is removed and ``path`` is left as it was.

    ``errors``: what ``write`` raises besides ``OSError`` when the disk fails it (a library's
    own error type); each becomes ``write_error``'s error, naming ``path``."""
    path = Path(path)
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(tmp)
        os.chmod(tmp, _MODE)  # as open() would make it: mkstemp's 0600 hid reports and runs
        os.replace(tmp, path)
        tmp = ""
    except Exception as exc:
        if not isinstance(exc, (OSError, *errors)):
            raise
        written = os.path.getsize(tmp) if tmp and os.path.exists(tmp) else 0
        _remove(tmp)  # first, so the message counts the space the failed write took back
        tmp = ""
        raise write_error(exc, path, needed, written) from None
    finally:
        _remove(tmp)
    return path


def _remove(tmp: str) -> None:
    if tmp:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def atomic_write_bytes(path: Path, data: bytes, sync: bool = True) -> Path:
    """``sync``: on the disk before the rename (``fsync``), so not even a power cut leaves
    the new name with lost contents; without it, the file survives a crash of the process
    (a file that a later, synced write supersedes)."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())

    return atomic_write(path, write, needed=len(data))


def atomic_write_text(path: Path, text: str, sync: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), sync)
