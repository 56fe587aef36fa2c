"""Which process owns a running run, and whether it is still alive.

A run records its owner (pid, host and the process's start time) when it is created, and a
heartbeat while it trains. A ``running`` run whose process is gone on this host, or whose
heartbeat on another host is older than ``STALE_AFTER``, was killed: Optuna's RDB storage
uses the same idea (heartbeats) for trials left RUNNING by a dead worker.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STALE_AFTER", "Owner", "current_owner", "is_alive"]

STALE_AFTER = 600.0  # seconds without a heartbeat before a run on another host counts as dead


@dataclass(frozen=True)
class Owner:
    pid: int
    host: str
    started: float  # the process's start time (seconds since boot), to survive pid reuse


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _start_time(pid: int) -> float:
    """The process start time from /proc (clock ticks since boot), or 0 where unavailable."""
    fields = _stat(pid)
    try:
        return float(fields[19])  # field 22 of the whole line: starttime
    except (IndexError, ValueError):
        return 0.0


def current_owner() -> Owner:
    pid = os.getpid()
    return Owner(pid, socket.gethostname(), _start_time(pid))


def is_alive(
    pid: int | None, host: str | None, started: float | None, heartbeat: float | None
) -> bool:
    """True unless the owning process is known to be gone."""
    if pid is None or host is None:
        return True  # recorded by an older hone: no way to tell
    if host != socket.gethostname():
        return heartbeat is None or time.time() - heartbeat < STALE_AFTER
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    fields = _stat(pid)
    if fields and fields[0] in ("Z", "X"):  # a zombie: dead, not yet reaped by its parent
        return False
    now = _start_time(pid)
    return not (started and now and abs(now - started) > 1)
