"""Recording a run when the machine gets in the way: a full disk (a real small tmpfs, or a
file-size limit where none can be mounted) while training or saving, and Ctrl-C at each
phase (a real SIGINT, in a child process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

import hone
from benchmarks.faults import limited_run, small_disk, small_disk_reason
from hone.store import RunStore
from tests.conftest import tiny

# digits with two wide layers: weights of ~1.1 MB, checkpoints (Adam) of ~3.4 MB
BIG = {"name": "big", "data": {"dataset": "digits"}, "model": {"hidden": [500, 500]},
       "train": {"epochs": 3}, "telemetry": False}  # fmt: skip


@contextmanager
def full_disk(tmp_path: Path, how: str, size: int) -> Iterator[tuple[Path, list[str], int]]:
    """A store on a disk with about ``size`` bytes, as (store, the command prefix, limit)."""
    if how == "tmpfs":
        try:
            with small_disk(tmp_path / "disk", f"{size // 1024}k") as disk:
                yield disk / "store", [], 0
        except OSError as exc:
            pytest.skip(str(exc))
    else:
        yield tmp_path / "store", [], size


def _run(store: Path, config: dict[str, object], limit: int, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(config))
    args = ["run", str(path), "-q", "--store", str(store)]
    if limit:
        done = limited_run(args, limit)
    else:
        done = subprocess.run([sys.executable, "-m", "hone.cli", *args], capture_output=True,
                              text=True, timeout=300, check=False)  # fmt: skip
    return done.returncode, done.stderr


HOW = [
    pytest.param("tmpfs", marks=pytest.mark.skipif(bool(small_disk_reason()),
                                                   reason=small_disk_reason() or "n/a")),
    "fsize",
]  # fmt: skip


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize(
    ("phase", "config", "failing"),
    [
        ("saving", BIG, "weights.safetensors"),
        ("training", {**BIG, "train": {"epochs": 3, "checkpoint_every": 1}}, "checkpoint.pt"),
    ],
)
def test_a_full_disk_fails_the_run_with_its_history_and_no_partial_file(
    tmp_path: Path, how: str, phase: str, config: dict[str, object], failing: str
) -> None:
    with full_disk(tmp_path, how, 700_000) as (store, _, limit):
        before = hone.run(tiny(**{"train.epochs": 2}), store=str(store))  # already recorded
        code, err = _run(store, config, limit, tmp_path)
        assert code == 1, err
        assert "Traceback" not in err and failing in err
        assert "needs about" in err and ("disk is full" in err or "larger than" in err)
        with RunStore(store) as rs:
            kept = rs.get_run(before.run_id)
            assert kept.status == "completed" and kept.metrics == before.metrics
            failed = next(r for r in rs.list_runs() if r.id != before.run_id)
            assert failed.status == "failed" and failing in failed.message
            history = rs.get_run(failed.id).history
            assert history["epoch"] == list(range(1, len(history["epoch"]) + 1))
            assert len(history["epoch"]) == (3 if phase == "saving" else 1)
            leftovers = [p.name for p in rs.run_dir(failed.id).iterdir() if ".tmp" in p.name]
            assert not leftovers


def test_ctrl_c_at_each_phase_ends_interrupted_and_resumable(tmp_path: Path) -> None:
    """A real SIGINT at the start, while training, during the final evaluation and while
    the weights are saved (``benchmarks.ctrl_c``, in a child process)."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.ctrl_c", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    phases = {p["phase"]: p for p in map(json.loads, done.stdout.splitlines())}
    assert set(phases) == {"start", "training", "evaluation", "saving"}
    assert all(p["reference_intact"] for p in phases.values())  # nothing recorded is lost
    assert phases["start"]["raised"] == "KeyboardInterrupt" and "status" not in phases["start"]
    for name in ("training", "evaluation", "saving"):
        p = phases[name]
        assert p["result"] == p["status"] == "interrupted", p
        assert p["weights"] and p["checkpoint"], p
        assert p["resumed"] == "completed" and p["same_as_reference"], p
    assert "--resume" in phases["evaluation"]["message"]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc/self/fd")
def test_what_must_outlast_a_power_cut_is_synced_before_its_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's files are each written beside their name and renamed into place (a crash of
    the process leaves the old file or the new one). Those that must outlast a power cut
    reach the disk first: config.yaml (what a run whose index row was lost is restored
    from), data.json, telemetry.json, evaluation.json and the final run.json. The run.json
    written when the run starts is not: the final one supersedes it."""
    synced: list[str] = []
    fsync = os.fsync

    def noting(fd: int) -> None:  # the real fsync, noting which file it syncs
        synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", noting)
    result = hone.run(tiny(), store=tmp_path / "store")
    monkeypatch.undo()
    names = [n.split(".tmp")[0].lstrip(".").rsplit(".", 1)[0] for n in synced]
    assert sorted(names) == sorted(["config.yaml", "data.json", "telemetry.json",
                                    "evaluation.json", "run.json"])  # fmt: skip
    record = json.loads((tmp_path / "store" / "runs" / result.run_id / "run.json").read_text())
    assert record["status"] == "completed" and len(record["history"]["epoch"]) == 5
