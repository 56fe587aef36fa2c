"""Real faults for the fault study and the tests: a full disk, a read-only store, a damaged
index, a file-size limit. Each is made for real on this machine where it can be (a tmpfs, a
read-only bind mount as root; permissions otherwise); a caller that cannot have one is told
why, and skips it.
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = [
    "flip_bytes",
    "limited_run",
    "read_only",
    "read_only_reason",
    "small_disk",
    "small_disk_reason",
]


def _mount(*args: str) -> bool:
    done = subprocess.run(["mount", *args], capture_output=True, check=False)
    return done.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def small_disk_reason() -> str:
    """Why a small disk cannot be mounted here ("" when it can)."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root; the file-size limit (RLIMIT_FSIZE) stands in"
    if shutil.which("mount") is None:
        return "no mount command"
    return ""


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (``"400k"``) at ``path``: a disk that really fills up."""
    path.mkdir(parents=True, exist_ok=True)
    if small_disk_reason() or not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)):
        raise OSError(small_disk_reason() or f"cannot mount a tmpfs at {path}")
    try:
        yield path
    finally:
        _umount(path)


def read_only_reason() -> str:
    """Why a read-only store cannot be made here ("" when it can)."""
    if os.geteuid() != 0:
        return ""  # permissions: chmod a-w
    if shutil.which("mount") is None:
        return "root ignores permissions, and there is no mount command for a read-only bind"
    return ""


@contextlib.contextmanager
def read_only(store: Path) -> Iterator[Path]:
    """``store`` seen read-only: a read-only bind mount as root (root writes through any
    permissions), ``chmod a-w`` on every folder and file otherwise. Yields the path to use."""
    if os.geteuid() != 0:
        paths = [store, *store.rglob("*")]
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(modes[p] & ~0o222)
        try:
            yield store
        finally:
            for p in reversed(paths):
                p.chmod(modes[p])
        return
    view = store.with_name(store.name + "-ro")
    view.mkdir()
    if not _mount("--bind", str(store), str(view)):
        view.rmdir()
        raise OSError(f"cannot bind-mount {store} (no CAP_SYS_ADMIN?)")
    try:
        if not _mount("-o", "remount,ro,bind", str(view)):
            raise OSError(f"cannot remount {view} read-only")
        yield view
    finally:
        _umount(view)
        with contextlib.suppress(OSError):
            view.rmdir()


def flip_bytes(path: Path, count: int, seed: int, skip: int = 100) -> None:
    """Flip every bit of ``count`` bytes chosen at random past the first ``skip`` (the SQLite
    header): the damage a bad sector or a bad copy leaves."""
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    for _ in range(count):
        data[rng.randrange(min(skip, len(data) - 1), len(data))] ^= 0xFF
    path.write_bytes(bytes(data))


def _limit(fsize: int) -> None:
    # Past the limit a write fails with EFBIG instead of killing the process with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))


def limited_run(
    args: Sequence[str], fsize: int, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m hone.cli ARGS`` in a process that may write no file larger than ``fsize``
    bytes (``RLIMIT_FSIZE``): where no small disk can be mounted, this fails writes as a full
    disk does (``EFBIG`` instead of ``ENOSPC``)."""
    return subprocess.run(
        [sys.executable, "-m", "hone.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=lambda: _limit(fsize),
        cwd=cwd,
        check=False,
    )
