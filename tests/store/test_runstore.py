from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import torch

from hone.errors import StoreError
from hone.store import RunStore
from hone.store.sqlite import retry_busy


def test_create_append_finish_read(store: Path) -> None:
    with RunStore(store) as rs:
        run_id = rs.create_run("a", {"seed": 1}, seed=1)
        assert (rs.run_dir(run_id) / "config.yaml").read_text().startswith("seed: 1")
        rs.append_epochs(
            run_id,
            [
                {"epoch": 1, "train_loss": 0.5},
                {"epoch": 2, "train_loss": 0.4, "val_loss": float("nan")},
            ],
        )
        rs.finish_run(run_id, "completed", {"test_accuracy": 0.9}, 1.5)
        record = rs.get_run(run_id)
    assert record.status == "completed" and record.epochs_run == 2
    assert record.history == {"epoch": [1, 2], "train_loss": [0.5, 0.4], "val_loss": [None, None]}
    assert record.metrics == {"test_accuracy": 0.9} and record.config == {"seed": 1}


def test_ids_resolve_by_prefix_or_suffix(store: Path) -> None:
    with RunStore(store) as rs:
        a = rs.create_run("a", {})
        b = rs.create_run("b", {})
        assert rs.resolve_id(a) == a and rs.resolve_id(a[-6:]) == a and rs.resolve_id(b) == b
        with pytest.raises(StoreError, match="ambiguous"):
            rs.resolve_id("20")  # both ids start with the year
        with pytest.raises(StoreError, match="no run 'zzz'"):
            rs.get_run("zzz")
        with pytest.raises(StoreError, match="no run"):
            rs.get_run("%")  # LIKE wildcards are literal


def test_weights_round_trip_without_pickle(store: Path) -> None:
    model = torch.nn.Linear(3, 2)
    with RunStore(store) as rs:
        run_id = rs.create_run("w", {})
        path = rs.save_weights(run_id, model.state_dict())
        assert path.suffix == ".safetensors"
        loaded = rs.load_weights(run_id)
    assert torch.equal(loaded["weight"], model.weight.detach())


def test_delete_removes_row_and_folder(store: Path) -> None:
    with RunStore(store) as rs:
        run_id = rs.create_run("d", {})
        rs.append_epochs(run_id, [{"epoch": 1}])
        rs.delete_run(run_id)
        assert rs.list_runs() == [] and not rs.run_dir(run_id).exists()


def _writer(root: str, worker: int, n_runs: int) -> None:
    with RunStore(root) as rs:
        for i in range(n_runs):
            run_id = rs.create_run(f"w{worker}-{i}", {"worker": worker})
            for epoch in range(1, 6):
                rs.append_epochs(run_id, [{"epoch": epoch, "loss": 1.0 / epoch}])
            rs.finish_run(run_id, "completed", {"worker": worker, "i": i}, 0.1)


def test_several_processes_write_at_once(store: Path) -> None:
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(store), w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with RunStore(store) as rs:
        records = rs.list_runs()
        assert len(records) == 60 and len({r.id for r in records}) == 60
        assert all(r.status == "completed" and r.epochs_run == 5 for r in records)
        assert {r.name for r in records} == {f"w{w}-{i}" for w in range(4) for i in range(15)}
    db = sqlite3.connect(store / "runs.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _open_and_record(root: str, start: Any, n_runs: int) -> None:
    start.wait()
    for i in range(n_runs):  # a store per run: opening races another process closing
        with RunStore(root) as rs:
            rs.finish_run(rs.create_run(f"r{i}", {}), "completed", {}, 0.0)


def test_processes_create_and_reopen_one_new_store_at_once(tmp_path: Path) -> None:
    # Before opening retried a busy index and created its tables in one transaction, one
    # round in two failed here: "database is locked", "table(s) epochs ... are missing".
    ctx = mp.get_context("fork")
    for round_ in range(8):
        root = tmp_path / f"s{round_}"
        start = ctx.Barrier(4)
        procs = [ctx.Process(target=_open_and_record, args=(str(root), start, 8)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 4, f"round {round_}"
        with RunStore(root) as rs:
            assert len(rs.list_runs()) == 32


def test_a_busy_error_is_retried_and_damage_is_not() -> None:
    errors = ["database is locked", "database is locked"]

    def attempt() -> str:
        if errors:
            raise sqlite3.OperationalError(errors.pop())
        return "opened"

    assert retry_busy(attempt) == "opened" and not errors
    errors[:] = ["disk image is malformed"]
    with pytest.raises(sqlite3.OperationalError, match="malformed"):
        retry_busy(attempt)
    errors[:] = ["database is locked"] * 1000
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        retry_busy(attempt, timeout=0.05)  # a lock that outlasts the timeout is reported


def test_experiments_listed_by_kind_newest_first(store: Path) -> None:
    with RunStore(store) as rs:
        made = [rs.create_experiment(kind, f"e{i}", {}) for i, kind in
                enumerate(["compare", "probe", "improve", "probe"])]  # fmt: skip
        every = rs.list_experiments()
        probes = rs.list_experiments(kind="probe")
        newest = rs.list_experiments(1, kind="probe")
    assert {e.id for e in every} == set(made)
    assert [e.id for e in probes] == [made[3], made[1]]
    assert [e.id for e in newest] == [made[3]]


def test_a_run_id_already_taken_in_its_second_is_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run id is its second and 24 random bits; a study makes many runs a second, and CI
    once lost a trial to "cannot write it (File exists)". A taken id is drawn again. The
    random draws are fixed here so that two meet."""
    from hone.store import runstore

    draws = iter(["abcdef", "abcdef", "123456"])
    monkeypatch.setattr(runstore.secrets, "token_hex", lambda n: next(draws))
    monkeypatch.setattr(runstore.time, "strftime", lambda fmt: "20261205-120000")
    with RunStore(tmp_path / "s") as rs:
        first, second = rs.create_run("a", {}), rs.create_run("b", {})
        assert (first, second) == ("20261205-120000-abcdef", "20261205-120000-123456")
        assert {r.id for r in rs.list_runs()} == {first, second}
        monkeypatch.setattr(runstore.secrets, "token_hex", lambda n: "abcdef")
        with pytest.raises(StoreError, match="File exists"):  # every draw taken: said, not hung
            rs.create_run("c", {})
