"""``hone schema``: prints the config's JSON Schema, or writes it with --out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hone.cli import main
from hone.config.schema import config_schema


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def test_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema == config_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"data", "model", "train"} <= set(schema["properties"])


def test_writes_it_with_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "hone.schema.json"
    code, out, err = cli(capsys, "schema", "--out", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text()) == config_schema()
    assert str(target) in err


@pytest.mark.parametrize("where", ["missing/x.json", "."])
def test_an_unwritable_out_is_one_message_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str
) -> None:
    code, out, err = cli(capsys, "schema", "--out", str(tmp_path / where))
    assert code == 2 and out == ""
    assert "--out: cannot write" in err and "Traceback" not in err
