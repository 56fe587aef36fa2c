"""The index and the run folders never disagree silently: check, repair, damaged rows."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import hone
from benchmarks.faults import flip_bytes
from hone.errors import StoreError
from hone.store import RunStore
from hone.store.repair import check_store, repair_store
from tests.conftest import tiny


def two_runs(store: Path) -> list[str]:
    return [
        hone.run(tiny(**{"train.epochs": 3, "name": f"r{i}"}), store=str(store)).run_id
        for i in range(2)
    ]


@pytest.mark.parametrize("how", ["emptied", "deleted", "dropped", "garbage", "dropped-column"])
def test_a_reset_index_is_reported_and_repaired(store: Path, how: str) -> None:
    ids = two_runs(store)
    with RunStore(store) as rs:
        before = {r.id: (r.status, r.metrics, r.history) for r in (rs.get_run(i) for i in ids)}
    db_path = store / "runs.db"
    for side in ("runs.db-wal", "runs.db-shm"):
        (store / side).unlink(missing_ok=True)
    if how == "emptied":
        db_path.write_bytes(b"")
    elif how == "deleted":
        db_path.unlink()
    elif how == "garbage":
        db_path.write_bytes(b"this is not a database" * 100)
    else:
        db = sqlite3.connect(db_path)
        if how == "dropped":
            db.execute("DROP TABLE runs")
        else:
            db.execute("ALTER TABLE runs DROP COLUMN metrics")
        db.commit()
        db.close()
    with pytest.raises(StoreError, match="hone store repair"):
        RunStore(store)
    check = check_store(store)
    assert not check.ok and check.problem and sorted(check.not_indexed) == sorted(ids)
    result = repair_store(store)
    assert sorted(result["restored"]) == sorted(ids)
    with RunStore(store) as rs:
        after = {r.id: (r.status, r.metrics, r.history) for r in (rs.get_run(i) for i in ids)}
    assert after == before
    assert check_store(store).ok


def test_folders_missing_from_the_index_are_listed(store: Path) -> None:
    ids = two_runs(store)
    db = sqlite3.connect(store / "runs.db")
    db.execute("DELETE FROM runs WHERE id = ?", (ids[0],))
    db.commit()
    db.close()
    check = check_store(store)
    assert check.not_indexed == [ids[0]] and not check.ok
    repair_store(store)
    with RunStore(store) as rs:
        assert rs.get_run(ids[0]).status == "completed"


def test_an_index_row_whose_folder_was_deleted_gets_its_folder_back_from_the_row(
    store: Path,
) -> None:
    """Check said to repair, and repair left the row as it was, so check failed forever.
    Repair writes the folder again from the row (config and history) and check is ok."""
    ids = two_runs(store)
    with RunStore(store) as rs:
        before = rs.get_run(ids[0])
    shutil.rmtree(store / "runs" / ids[0])
    check = check_store(store)
    assert check.no_folder == [ids[0]] and not check.ok
    assert repair_store(store)["rebuilt"] == [ids[0]]
    assert check_store(store).ok
    assert sorted(p.name for p in (store / "runs" / ids[0]).iterdir()) == ["config.yaml",
                                                                            "run.json"]  # fmt: skip
    shutil.move(store / "runs.db", store / "old.db")  # the folder alone restores the run
    repair_store(store)
    with RunStore(store) as rs:
        after = rs.get_run(ids[0])
    assert (after.status, after.metrics, after.history) == (
        before.status, before.metrics, before.history)  # fmt: skip


def test_a_damaged_row_does_not_hide_the_others(store: Path) -> None:
    ids = two_runs(store)
    db = sqlite3.connect(store / "runs.db")
    db.execute("UPDATE runs SET config = '{broken' WHERE id = ?", (ids[0],))
    db.commit()
    db.close()
    with RunStore(store) as rs:
        listed = {r.id: r for r in rs.list_runs()}
        assert set(listed) == set(ids) and listed[ids[0]].damaged == ["config"]
        assert rs.get_run(ids[1]).status == "completed"
        with pytest.raises(StoreError, match=f"{ids[0]}.*damaged.*repair"):
            rs.get_run(ids[0])
    repair_store(store)
    with RunStore(store) as rs:
        assert rs.get_run(ids[0]).config["name"] == "r0"


def test_old_stores_are_migrated(store: Path) -> None:
    """A wave-1 store (no owner columns, schema version 0) opens and keeps its runs."""
    store.mkdir()
    db = sqlite3.connect(store / "runs.db")
    db.executescript(
        """
        CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
          created REAL NOT NULL, finished REAL, seed INTEGER, config TEXT NOT NULL,
          metrics TEXT NOT NULL DEFAULT '{}', epochs_run INTEGER NOT NULL DEFAULT 0,
          wall_seconds REAL, message TEXT NOT NULL DEFAULT '', extra TEXT NOT NULL DEFAULT '{}');
        CREATE TABLE epochs (run_id TEXT, epoch INTEGER, logs TEXT, PRIMARY KEY (run_id, epoch));
        CREATE TABLE experiments (id TEXT PRIMARY KEY, kind TEXT, name TEXT, status TEXT,
          created REAL, finished REAL, spec TEXT, summary TEXT DEFAULT '{}');
        CREATE TABLE experiment_runs (experiment_id TEXT, variant TEXT, seed INTEGER,
          run_id TEXT, PRIMARY KEY (experiment_id, variant, seed));
        INSERT INTO runs (id, name, status, created, config) VALUES
          ('20260101-000000-abcdef', 'old', 'running', 1.0, '{}');
        """
    )
    db.commit()
    db.close()
    with RunStore(store) as rs:
        record = rs.get_run("abcdef")
        assert record.name == "old" and rs.shown_status(record) == "running"  # owner unknown
    assert sqlite3.connect(store / "runs.db").execute("PRAGMA user_version").fetchone() == (2,)


def test_an_index_from_a_newer_hone_is_refused(store: Path) -> None:
    two_runs(store)
    db = sqlite3.connect(store / "runs.db")
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer hone"):
        RunStore(store)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A store of finished runs, an experiment and a run still training (whose history only
    the index holds), with what each run looked like."""
    store = tmp_path_factory.mktemp("pristine") / "store"
    for i in range(4):
        hone.run(tiny(**{"train.epochs": 6, "seed": i, "name": f"r{i}"}), store=str(store))
    hone.compare(tiny(**{"train.epochs": 2}), vary={"train.optimizer.lr": [0.01, 0.1]},
                 seeds=1, store=str(store))  # fmt: skip
    with RunStore(store) as rs:
        training = rs.create_run("training", tiny())
        rs.append_epochs(training, [{"epoch": e, "train_loss": 1 / e} for e in range(1, 9)])
        before = {r.id: (r.status, r.epochs_run, rs.get_run(r.id).history) for r in rs.list_runs()}
    return store, before


def _damage(db: Path, how: str) -> None:
    data = db.read_bytes()
    if how.startswith("flip"):
        _, count, seed = how.split("-")
        flip_bytes(db, int(count), int(seed))
    elif how == "header":
        db.write_bytes(b"not an SQLite header" + data[20:])
    elif how == "truncated":
        db.write_bytes(data[: len(data) // 3])
    elif how == "zeroed-pages":
        db.write_bytes(data[:4096] + bytes(len(data) - 4096))
    elif how == "schema-page":
        damaged = bytearray(data)
        for i in range(200, 4000, 97):  # inside page 1, past the header: the schema's text
            damaged[i] ^= 0xFF
        db.write_bytes(bytes(damaged))


DAMAGE = ["flip-3-1", "flip-3-2", "flip-3-3", "flip-8-4", "flip-40-5", "header", "truncated",
          "zeroed-pages", "schema-page"]  # fmt: skip


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_index_is_named_and_repaired_with_every_run_whose_folder_is_intact(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    pristine: tuple[Path, dict[str, Any]],
    how: str,
) -> None:
    from hone.cli import main

    source, before = pristine
    store = tmp_path / "store"
    shutil.copytree(source, store)
    _damage(store / "runs.db", how)
    a_run = sorted(before)[0]
    for args in (["runs", "list"], ["runs", "show", a_run], ["experiments", "list"],
                 ["store", "check"], ["runs", "check"]):  # fmt: skip
        with pytest.raises(SystemExit) as info:
            main([*args, "--store", str(store)])
        err = capsys.readouterr().err
        assert info.value.code in (0, 1, 2, None), (args, err)
        if info.value.code == 2:  # the index cannot be read: the file and the way out
            assert "runs.db" in err and "hone store repair" in err, (args, err)
    with pytest.raises(SystemExit) as info:
        main(["store", "repair", "--store", str(store)])
    out = capsys.readouterr().out
    assert info.value.code in (0, None), out
    with RunStore(store) as rs:
        after = {r.id: (r.status, r.epochs_run, rs.get_run(r.id).history) for r in rs.list_runs()}
    for run_id, (status, epochs, history) in before.items():
        assert run_id in after, f"{run_id} lost"
        if status != "running":  # its folder holds the whole record: back exactly
            assert after[run_id] == (status, epochs, history), run_id
    assert check_store(store).ok
    kept = [p for p in store.glob("runs.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    if "kept the damaged index" in out:
        assert len(kept) == 1 and kept[0].stat().st_size > 0
