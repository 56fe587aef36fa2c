"""``hone report --all``: every page of a store and an index linking them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hone.report.index import render_all
from hone.store import RunStore
from tests.cli.test_safety import cli, one_run


def test_index_links_every_run_and_only_writes_missing_pages(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    ids = [one_run(store, name=f"r{i}<b>") for i in range(2)]
    code, out, _ = cli(capsys, "report", "--all", "--store", str(store))
    assert code == 0 and "2 pages written, 0 up to date" in out
    index = (store / "reports" / "index.html").read_text()
    for run_id in ids:
        assert f'href="{run_id}.html"' in index
        assert (store / "reports" / f"{run_id}.html").is_file()
    assert "r0&lt;b&gt;" in index and "<b>" not in index.split("<main>")[1].split("</main>")[0]
    with RunStore(store) as rs:
        _, counts = render_all(rs)
    assert counts == {"written": 0, "kept": 2, "failed": 0}


def test_a_page_that_cannot_be_written_is_marked_and_the_rest_still_are(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    good, bad = one_run(store), one_run(store)
    (store / "runs" / bad / "weights.safetensors").write_bytes(b"not weights")
    (store / "runs" / bad / "evaluation.json").write_text("{damaged")
    with RunStore(store) as rs:
        path, counts = render_all(rs)
    index = path.read_text()
    assert f'href="{good}.html"' in index
    if counts["failed"]:
        assert re.search(rf"{bad} <span[^>]*>\(page failed\)", index)


def test_report_needs_an_id_or_all(capsys: pytest.CaptureFixture[str], store: Path) -> None:
    code, _, err = cli(capsys, "report", "--store", str(store))
    assert code == 2 and "--all" in err


def test_pages_rendered_in_worker_processes_match_and_are_then_kept(store: Path) -> None:
    ids = [one_run(store, name=f"p{i}") for i in range(3)]
    with RunStore(store) as rs:
        _, counts = render_all(rs, jobs=2)
        assert counts == {"written": 3, "kept": 0, "failed": 0}
        for run_id in ids:
            page = (store / "reports" / f"{run_id}.html").read_text()
            assert run_id in page and 'id="evaluation"' in page
        (store / "reports" / f"{ids[0]}.html").unlink()
        _, counts = render_all(rs, jobs=2)
    assert counts == {"written": 1, "kept": 2, "failed": 0}
