"""Every Python code block in the README runs, in order, in one namespace (as a reader pasting
them one after another would), from the repository root with a fresh store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_readme_has_python_blocks() -> None:
    assert python_blocks((ROOT / "README.md").read_text())


@pytest.mark.slow
def test_every_python_block_in_the_readme_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HONE_HOME", str(tmp_path / "store"))
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for i, block in enumerate(python_blocks((ROOT / "README.md").read_text())):
        code = compile(block, f"README.md python block {i + 1}", "exec")
        exec(code, namespace)
    out = capsys.readouterr().out
    assert "completed" in out and "TuneOutcome(" in out
