"""Atomic writes meet a real full disk and a real read-only folder: the old file stays, no
temporary file is left, and the error names the path and the space the write needed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from benchmarks.faults import read_only, read_only_reason, small_disk, small_disk_reason
from hone.errors import DiskFullError, ReadOnlyStoreError, StoreError
from hone.store import RunStore
from hone.store.files import atomic_write_bytes, free_bytes, write_error
from hone.train.resume import save_checkpoint

needs_small_disk = pytest.mark.skipif(bool(small_disk_reason()), reason=small_disk_reason())


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    try:
        with small_disk(tmp_path / "disk", "256k") as path:
            yield path
    except OSError as exc:
        pytest.skip(str(exc))


@needs_small_disk
def test_a_write_that_fills_the_disk_keeps_the_old_file(disk: Path) -> None:
    target = disk / "evaluation.json"
    atomic_write_bytes(target, b"old")
    with pytest.raises(DiskFullError) as info:
        atomic_write_bytes(target, b"x" * 400_000)
    message = str(info.value)
    assert str(target) in message and "disk is full" in message
    assert "needs about 390.6 KB" in message and "free there" in message
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in disk.iterdir()) == ["evaluation.json"]  # no temporary file


@needs_small_disk
def test_weights_and_checkpoints_that_do_not_fit_are_disk_full_errors(disk: Path) -> None:
    free = free_bytes(disk)
    big = {"w": torch.zeros(200_000)}  # 800 KB
    with RunStore(disk / "store") as rs:
        run_id = rs.create_run("big", {})
        with pytest.raises(DiskFullError, match=r"weights\.safetensors: the disk is full"):
            rs.save_weights(run_id, big)  # safetensors' own error type, read as ENOSPC
        with pytest.raises(DiskFullError, match=r"checkpoint\.pt: the disk is full"):
            save_checkpoint(rs.run_dir(run_id), {"model": big})  # torch.save's RuntimeError
        assert not [p for p in rs.run_dir(run_id).iterdir() if p.name.endswith(".tmp")]
    # The failed writes gave their space back (a file left open would hold it).
    assert free is not None and free_bytes(disk) >= free - 200_000


@pytest.mark.skipif(bool(read_only_reason()), reason=read_only_reason() or "n/a")
def test_a_read_only_folder_is_named_with_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    (folder / "a.json").write_text("{}")
    try:
        with read_only(folder) as view:
            with pytest.raises(ReadOnlyStoreError, match="cannot write here") as info:
                atomic_write_bytes(view / "a.json", b"new")
            assert "--store DIR" in str(info.value)
            assert (view / "a.json").read_text() == "{}"
    except OSError as exc:
        pytest.skip(str(exc))


def test_errors_are_read_from_the_text_libraries_wrap_them_in() -> None:
    safetensors_like = RuntimeError(
        'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space '
        'left on device" })'
    )
    assert isinstance(write_error(safetensors_like, Path("/x/w")), DiskFullError)
    too_big = OSError(27, os.strerror(27))
    assert "larger than this process may write" in str(write_error(too_big, Path("/x/w"), 10))
    other = write_error(ValueError("odd"), Path("/x/w"))
    assert type(other) is StoreError and "/x/w" in str(other)


@needs_small_disk
def test_a_store_too_full_to_open_for_writing_is_still_read(disk: Path) -> None:
    with RunStore(disk / "store") as rs:
        kept = rs.create_run("kept", {"seed": 1})
        rs.finish_run(kept, "completed", {"test_accuracy": 0.5}, 1.0)
    (disk / "filler").write_bytes(b"\0" * (free_bytes(disk) or 0))  # every byte taken
    with RunStore(disk / "store") as rs:
        assert [r.id for r in rs.list_runs()] == [kept]  # reading still works
        with pytest.raises(DiskFullError, match="disk is full"):
            rs.create_run("new", {})
    assert sorted(p.name for p in (disk / "store" / "runs").iterdir()) == [kept]


@needs_small_disk
def test_a_run_that_cannot_start_leaves_no_half_made_folder(disk: Path) -> None:
    with RunStore(disk / "store") as rs:
        rs.create_run("first", {})
        (disk / "filler").write_bytes(b"\0" * ((free_bytes(disk) or 0) - 1024))
        with pytest.raises(DiskFullError):
            rs.create_run("big config", {"x": "y" * 100_000})  # config.yaml does not fit
        assert len(list((disk / "store" / "runs").iterdir())) == 1
        assert len(rs.list_runs()) == 1


def test_a_file_written_atomically_gets_the_mode_open_would_give_it(tmp_path: Path) -> None:
    """mkstemp makes 0600 files: every report, exported model and run file was readable by
    its owner alone, whatever the umask (a report meant for sharing could not be served)."""
    old = os.umask(0o022)
    os.umask(old)
    path = atomic_write_bytes(tmp_path / "report.html", b"<html></html>")
    assert path.stat().st_mode & 0o777 == 0o666 & ~old
