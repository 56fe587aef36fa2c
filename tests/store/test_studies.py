"""Where hone tune keeps its studies: a journal file that Optuna, other processes and
optuna-dashboard read; stores from before keep their SQLite file."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import optuna
import pytest

from hone.store.studies import (
    default_storage,
    find_storage,
    is_journal,
    open_storage,
    store_storages,
)


def _study(url: str, name: str = "s", trials: int = 3) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name=name, storage=open_storage(url), load_if_exists=True)
    for _ in range(trials):
        trial = study.ask()
        x = trial.suggest_float("x", 0.0, 1.0)
        for epoch in (1, 2, 3):
            trial.report(x / epoch, epoch)
        trial.set_user_attr("run_id", f"run{trial.number}")
        study.tell(trial, x)
    return study


def test_a_journal_is_a_path_and_an_rdb_a_url() -> None:
    assert is_journal("/s/studies.journal") and is_journal("rel/x.log")
    assert not is_journal("sqlite:///s/studies.db") and not is_journal("/s/studies.db")


def test_the_journal_holds_every_write_for_a_plain_optuna_reader(tmp_path: Path) -> None:
    path = str(tmp_path / "studies.journal")
    _study(path)
    plain = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    trials = optuna.load_study(study_name="s", storage=plain).trials
    assert len(trials) == 3 and all(len(t.intermediate_values) == 3 for t in trials)
    assert [t.user_attrs["run_id"] for t in trials] == ["run0", "run1", "run2"]


def test_new_studies_go_to_the_journal_old_ones_stay_in_sqlite(tmp_path: Path) -> None:
    assert store_storages(tmp_path) == []
    assert default_storage(tmp_path, "a") == str((tmp_path / "studies.journal").resolve())
    db = f"sqlite:///{(tmp_path / 'studies.db').resolve()}"
    _study(db, "old")
    assert default_storage(tmp_path, "old") == db
    assert default_storage(tmp_path, "a").endswith("studies.journal")
    _study(default_storage(tmp_path, "a"), "a")
    assert len(store_storages(tmp_path)) == 2
    assert find_storage(tmp_path, "old") == db
    assert find_storage(tmp_path, "a") == str((tmp_path / "studies.journal").resolve())
    assert find_storage(tmp_path, "missing") is None


def _get(app: Any, path: str) -> Any:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO()
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, *_: status.append(s)))
    assert status[0].startswith("200"), (path, status, body[:300])
    return json.loads(body)


def test_optuna_dashboard_reads_the_journal(tmp_path: Path) -> None:
    """``optuna-dashboard <store>/studies.journal``: the dashboard's own storage guess, and
    its API, on a journal hone wrote."""
    dashboard = pytest.importorskip("optuna_dashboard")
    path = str(tmp_path / "studies.journal")
    _study(path, "tuned", trials=4)
    app = dashboard.wsgi(path)
    (summary,) = _get(app, "/api/studies")["study_summaries"]
    assert summary["study_name"] == "tuned"
    detail = _get(app, f"/api/studies/{summary['study_id']}")
    assert len(detail["trials"]) == 4
    assert all(len(t["intermediate_values"]) == 3 for t in detail["trials"])


def _writer(path: str, name: str, trials: int) -> None:
    _study(path, name, trials)


def test_processes_writing_one_journal_at_once_lose_nothing(tmp_path: Path) -> None:
    """Four processes, one study each, all appending to the same file (as ``--jobs`` does):
    every line whole, every trial and report read back."""
    import multiprocessing

    path = str(tmp_path / "studies.journal")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, f"s{i}", 12)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    lines = Path(path).read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    plain = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    for i in range(4):
        trials = optuna.load_study(study_name=f"s{i}", storage=plain).trials
        assert len(trials) == 12 and all(len(t.intermediate_values) == 3 for t in trials)
