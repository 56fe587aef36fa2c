"""--jobs workers: forked from a fork server where there is one, yet starting from the parent's
working directory and environment as they are when the pool is made, as spawned ones would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hone.cluster.processes import local_pool


def test_a_worker_starts_where_the_parent_is_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with local_pool(1) as pool:  # the fork server, where there is one, starts here
        assert pool.submit(os.getcwd).result() == os.getcwd()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HONE_TEST_MARK", "here")
    with local_pool(2) as pool:
        assert pool.submit(os.getcwd).result() == os.getcwd()
        assert pool.submit(os.getenv, "HONE_TEST_MARK").result() == "here"
    monkeypatch.delenv("HONE_TEST_MARK")
    with local_pool(1) as pool:
        assert pool.submit(os.getenv, "HONE_TEST_MARK").result() is None


def test_the_initializer_runs_in_each_worker(
    tmp_path: Path,
) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    with local_pool(1, os.chdir, (str(inner),)) as pool:
        assert Path(pool.submit(os.getcwd).result()).resolve() == inner.resolve()
