"""Hostile strings at the command line: nothing deleted by accident, nothing printed raw."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hone.cli import main
from hone.store import RunStore
from tests.conftest import tiny


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def one_run(store: Path, **overrides: object) -> str:
    import hone

    return hone.run(tiny(**{"train.epochs": 2, **overrides}), store=str(store)).run_id


@pytest.mark.parametrize("ident", ["", " ", "\t"])
def test_empty_ids_never_resolve(
    capsys: pytest.CaptureFixture[str], store: Path, ident: str
) -> None:
    run_id = one_run(store)
    for args in (
        ("runs", "delete", ident, "--yes"),
        ("runs", "show", ident),
        ("diagnose", ident),
        ("report", ident),
        ("eval", ident),
    ):
        code, _, err = cli(capsys, *args, "--store", str(store))
        assert code == 2 and "empty" in err and "Traceback" not in err, args
    with RunStore(store) as rs:
        assert rs.get_run(run_id).id == run_id  # still there


def test_delete_refuses_short_prefixes_and_asks_on_a_terminal(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    run_id = one_run(store)
    code, _, err = cli(capsys, "runs", "delete", run_id[:3], "--yes", "--store", str(store))
    assert code == 2 and "at least 6" in err
    code, _, err = cli(capsys, "runs", "delete", run_id[-6:], "--store", str(store))
    assert code == 2 and "--yes" in err  # a script (no terminal) must say --yes

    def delete_on_tty(answer: bytes) -> str:
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hone.cli",
                "runs",
                "delete",
                run_id[-6:],
                "--store",
                str(store),
            ],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            close_fds=True,
        )
        os.close(follower)
        seen = b""
        deadline = time.monotonic() + 60
        while b"[y/N]" not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                seen += os.read(leader, 4096)
        os.write(leader, answer)
        proc.wait(60)
        try:
            while select.select([leader], [], [], 0.2)[0]:
                seen += os.read(leader, 4096)
        except OSError:
            pass
        os.close(leader)
        return seen.decode(errors="replace")

    assert "kept" in delete_on_tty(b"n\n")
    with RunStore(store) as rs:
        assert rs.get_run(run_id)
    assert "deleted" in delete_on_tty(b"y\n")
    with RunStore(store) as rs:
        assert rs.list_runs() == []


HOSTILE_NAMES = ["a[/]b", "[bold red]x[/]", "\x1b[31mred\x1b[0m\x1b[2J", ":x: done", "nul\x07bell"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_print_as_plain_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path, name: str
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(name=name, **{"train.epochs": 2})))
    code, out, err = cli(capsys, "run", str(config), "--store", str(store))
    assert code == 0, err
    code, listed, err = cli(capsys, "runs", "list", "--store", str(store))
    assert code == 0 and "Traceback" not in err
    run_id = json.loads(cli(capsys, "runs", "list", "--json", "--store", str(store))[1])[0]["id"]
    code, shown, err = cli(capsys, "runs", "show", run_id, "--store", str(store))
    assert code == 0, err
    for text in (out, listed, shown):
        assert "\x1b" not in text and "\x07" not in text
        assert "❌" not in text
    visible = name.replace("\x1b[31m", "").replace("\x1b[0m", "").replace("\x1b[2J", "")
    visible = visible.replace("\x07", "")
    assert visible in shown.replace("\n", "")


def test_set_store_is_the_store_flag(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 2})))
    target = tmp_path / "elsewhere"
    proc = subprocess.run(
        [sys.executable, "-m", "hone.cli", "run", str(config), "-q", "--set", f"store={target}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (target / "runs.db").is_file()


def test_relative_store_in_a_config_file_is_relative_to_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    config = folder / "c.yaml"
    config.write_text(yaml.safe_dump({**tiny(**{"train.epochs": 2}), "store": "runs"}))
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "hone.cli", "run", str(config), "-q"],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (folder / "runs" / "runs.db").is_file() and not any(cwd.iterdir())


def test_a_store_name_with_slashes_does_not_create_folder_trees(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = cli(capsys, "runs", "list", "--store", str(tmp_path / "a" / "b" / "c"))
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "a").exists()


def test_reading_commands_do_not_make_a_store_at_a_mistyped_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``runs list --store typo`` made an empty store there and listed nothing, as if every
    run were gone; ``diagnose`` and ``report`` said "no run" and made it too."""
    typo = tmp_path / "hone-rusn"
    for args in (["runs", "list"], ["runs", "show", "abc"], ["experiments", "list"],
                 ["diagnose", "abc"], ["report", "abc"]):  # fmt: skip
        code, _, err = cli(capsys, *args, "--store", str(typo))
        assert code == 2 and f"no run store at {typo}" in err, (args, err)
    assert not typo.exists()
