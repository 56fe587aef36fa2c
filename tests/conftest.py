"""Shared fixtures: a temporary run store, the offline datasets and tiny configs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("HONE_TEST_DATASETS", ROOT.parent / "shared" / "datasets"))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def datasets() -> Path:
    if not (DATASETS / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"offline datasets not found at {DATASETS} (set HONE_TEST_DATASETS)")
    return DATASETS


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a grouped test before its fixtures start if pytest-xdist's loadgroup did not
    group it: tests that share one resource (a Ray cluster) would run in two workers at once
    and fail by chance."""
    grouped = getattr(item.config.option, "loadgroup", False)
    if grouped and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            f"pytest-xdist ignored this test's xdist_group under pytest {pytest.__version__}; "
            "install the versions pyproject.toml's dev extra names",
            pytrace=False,
        )


def store_row(store: Path, sql: str) -> tuple[Any, ...] | None:
    """The first row ``sql`` selects from a store another process is writing; None while
    its index does not exist yet or is still being created (the file appears before its
    tables)."""
    import sqlite3

    if not (store / "runs.db").exists():
        return None
    try:
        with sqlite3.connect(store / "runs.db") as db:
            row = db.execute(sql).fetchone()
    except sqlite3.OperationalError:
        return None
    return tuple(row) if row else None


def tiny(**overrides: Any) -> dict[str, Any]:
    """A seconds-fast classification config on blobs; dotted keys override."""
    from hone.config import apply_overrides

    cfg: dict[str, Any] = {
        "name": "tiny",
        "seed": 0,
        "data": {"dataset": "blobs", "params": {"n_samples": 200}, "split": "6:2:2"},
        "model": {"hidden": [16]},
        "train": {"epochs": 5, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.01}},
    }
    return apply_overrides(cfg, overrides)


def in_pty(
    args: list[str], columns: int = 80, timeout: float = 600, cwd: Path | None = None
) -> tuple[int, list[tuple[float, bytes]]]:
    """Run ``args`` on a pseudo-terminal ``columns`` wide; its exit code and every chunk it
    wrote, with the seconds since the start."""
    import fcntl
    import pty
    import select
    import struct
    import subprocess
    import termios
    import time

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm-256color"}
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, cwd=cwd,
                            env=env, close_fds=True)  # fmt: skip
    os.close(follower)
    chunks: list[tuple[float, bytes]] = []
    start = time.monotonic()
    try:
        while time.monotonic() - start < timeout:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append((time.monotonic() - start, data))
    finally:
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        os.close(leader)
    return code, chunks


def screen_text(chunks: list[tuple[float, bytes]]) -> list[str]:
    """What a terminal drew, as the pieces of text between line breaks, carriage returns and
    cursor movements (each piece is text drawn on one line in one go; colours removed)."""
    import re

    raw = b"".join(data for _, data in chunks).decode("utf-8", "replace")
    raw = re.sub(r"\x1b\[[0-9;]*m", "", raw)  # colours do not move the cursor
    pieces = re.split(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|[\r\n]", raw)
    return [p for p in pieces if p]
