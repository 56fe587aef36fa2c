"""The documentation site: the generated references cover every command, public name and
config key; every page is in the navigation; a lesson notebook becomes a page with its outputs;
a lesson that drifts from its committed figures fails. (CI also builds the site with
``mkdocs build --strict`` and runs the lessons with nbmake.)"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

DOCS = ROOT / "docs"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    return _load(DOCS / "hooks" / "reference.py")


# ---- the CLI -----------------------------------------------------------------------------


def _typer_commands() -> dict[str, list[str]]:
    """Every command path and its option names, read from the Typer app's registrations (not
    from the walk the reference page uses)."""
    import typer.main

    from hone.cli import app

    found: dict[str, list[str]] = {"hone": []}

    def visit(typer_app: Any, prefix: str) -> None:
        for info in typer_app.registered_commands:
            name = info.name or typer.main.get_command_name(info.callback.__name__)
            command = typer.main.get_command_from_info(
                info, pretty_exceptions_short=True, rich_markup_mode=None
            )
            options = [o for p in command.params for o in getattr(p, "opts", [])
                       if o.startswith("-")]  # fmt: skip
            found[f"{prefix} {name}"] = options
        for group in typer_app.registered_groups:
            found[f"{prefix} {group.name}"] = []
            visit(group.typer_instance, f"{prefix} {group.name}")

    visit(app, "hone")
    return found


def test_the_cli_reference_covers_every_command_and_option(reference: ModuleType) -> None:
    page = reference.cli_page()
    headings = set(re.findall(r"^#+ `(hone[^`]*)`$", page, flags=re.M))
    commands = _typer_commands()
    assert headings == set(commands), f"missing: {set(commands) - headings}"
    assert set(reference.cli_commands()) == set(commands)
    sections = re.split(r"^#+ `hone", page, flags=re.M)
    for path, options in commands.items():
        body = next(s for s in sections if s.startswith(path.removeprefix("hone") + "`"))
        for option in options:
            assert option in body, f"{path}: option {option} is not on the CLI page"


# ---- the Python API ----------------------------------------------------------------------


def test_the_api_reference_covers_every_public_name(reference: ModuleType) -> None:
    import hone
    import hone.api

    page = reference.api_page()
    block = r"^### `(hone(?:\.api)?)\.(\w+)`\n\n(?:[^\n]+\n\n)?::: ([\w.]+)$"
    blocks = re.findall(block, page, flags=re.M)
    documented = {(module, name) for module, name, _ in blocks}
    wanted = {("hone", n) for n in hone.__all__ if not n.startswith("__")}
    wanted |= {("hone.api", n) for n in hone.api.__all__ if n not in hone.__all__}
    assert documented == wanted
    for module, name, target in blocks:  # each directive names where the object lives
        owner, _, attr = target.rpartition(".")
        assert getattr(importlib.import_module(owner), attr) is getattr(
            importlib.import_module(module), name
        ) or (module, name) == ("hone", "diagnose"), target


# ---- the config --------------------------------------------------------------------------


def _schema_keys() -> set[str]:
    """Every key path in the JSON Schema, following references (independent of the walk over
    the pydantic models that builds the page). Schedules' own options are listed apart."""
    from hone.config.names import SCHEDULES
    from hone.config.schema import config_schema

    schema = config_schema()
    defs = schema["$defs"]
    keys: set[str] = set()

    def node_of(node: dict[str, Any]) -> list[dict[str, Any]]:
        if "$ref" in node:
            return node_of(defs[node["$ref"].split("/")[-1]])
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            return [{"_list": True, **n} for n in node_of(node["items"])]
        if "anyOf" in node:
            return [n for alt in node["anyOf"] for n in node_of(alt)]
        return [node] if "properties" in node else []

    def walk(node: dict[str, Any], prefix: str) -> None:
        for sub in node_of(node):
            if sub.get("title") in SCHEDULES:  # keep the shared keys only
                sub = {"properties": {k: v for k, v in sub["properties"].items()
                                      if k in ("name", "warmup_epochs")}}  # fmt: skip
            base = prefix.removesuffix(".") + ("[]." if sub.get("_list") else ".")
            for key, value in sub["properties"].items():
                path = f"{base.lstrip('.')}{key}"
                if path != "train.lr":  # the shorthand, listed under Configs
                    keys.add(path)
                walk(value, path)

    walk(schema, "")
    return keys


def test_the_config_reference_covers_every_key(reference: ModuleType) -> None:
    page = reference.config_page()
    rows = set(re.findall(r"^\| `([\w.\[\]]+)` \|", page, flags=re.M))
    keys = _schema_keys()
    assert keys == set(reference.config_keys())
    missing = keys - rows
    assert not missing, f"config keys missing from the reference: {sorted(missing)}"
    from hone.config.options import _SCHEDULE_OPTIONS  # each schedule's own options

    for name, model in _SCHEDULE_OPTIONS.items():
        assert f"### `{name}`" in page
        for option in model.model_fields:
            assert f"| `train.schedule.{option}` |" in page, (name, option)
    for key, row in re.findall(r"^\| `([\w.\[\]]+)` \|(.*)$", page, flags=re.M):
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        if key in keys:  # type, default and meaning are never blank (bounds may be)
            assert len(cells) == 4 and cells[0] and cells[1] and cells[3], f"incomplete: {key}"


# ---- the site ----------------------------------------------------------------------------


def _nav_pages(nav: Any) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _nav_pages(v)]
    return [p for item in nav for p in _nav_pages(item)]


def test_every_page_and_lesson_is_in_the_navigation(reference: ModuleType) -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = set(_nav_pages(config["nav"]))
    written = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    lessons = {p.relative_to(DOCS).with_suffix(".md").as_posix()
               for p in (DOCS / "lessons").glob("[0-9]*.ipynb")}  # fmt: skip
    generated = {"reference/cli.md", "reference/api.md", "reference/config.md"}
    assert nav == written | lessons | generated
    assert len(lessons) == 5
    assert config["theme"]["font"] is False  # no web fonts: the site builds and reads offline


def test_a_notebook_becomes_a_page_with_its_outputs(tmp_path: Path) -> None:
    notebooks = _load(DOCS / "hooks" / "notebooks.py")
    png = {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Image>"}
    html = {"text/html": "<table>\n\n<tr><td>1</td></tr></table>", "text/plain": "t"}
    cell = {
        "cell_type": "code",
        "metadata": {},
        "source": ["print('hi')\n", "x"],
        "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["hi\n"]},
            {"output_type": "execute_result", "metadata": {}, "data": html},
            {"output_type": "display_data", "metadata": {}, "data": png},
        ],
    }
    hidden = {
        "cell_type": "code",
        "metadata": {"tags": ["remove-input"]},
        "source": "secret()",
        "outputs": [],
    }
    claims = {
        "cell_type": "markdown",
        "metadata": {},
        "source": "**Claims.**\n- one\n  more\n- two",
    }
    title = {"cell_type": "markdown", "metadata": {}, "source": "# Title"}
    nb = {"cells": [title, cell, hidden, claims],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    path = tmp_path / "07_x.ipynb"
    path.write_text(json.dumps(nb))
    page = notebooks.notebook_markdown(path)
    assert page.startswith("# Title")
    assert "](07_x.ipynb)" in page
    assert "```python\nprint('hi')\nx\n```" in page and "```text\nhi\n```" in page
    assert (
        '<div class="nb-output" markdown="0">\n<table>\n<tr><td>1</td></tr></table>\n</div>' in page
    )
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in page and 'alt="&lt;Image&gt;"' in page
    assert "secret()" not in page
    assert "**Claims.**\n\n- one\n  more\n- two" in page  # a list under a paragraph stays a list


# ---- the lessons' check -------------------------------------------------------------------


def test_a_lesson_that_drifts_from_its_committed_figures_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HONE_LESSON_BUDGET", "ci")
    monkeypatch.delenv("HONE_LESSON_UPDATE", raising=False)
    monkeypatch.setenv("HONE_HOME", str(tmp_path / "store"))  # a Lesson sets it: restored after
    kit = _load(DOCS / "lessons" / "lessonkit.py")
    monkeypatch.setattr(kit, "HERE", tmp_path)
    monkeypatch.setattr(kit, "ROOT", tmp_path.parent)
    (tmp_path / "results").mkdir()
    committed = {"acc": {"value": 0.9, "tol": 0.02}, "gain": {"value": 0.1, "tol": 0.05}}
    (tmp_path / "results" / "99_x.ci.json").write_text(json.dumps(committed))

    ok = kit.Lesson("99_x", store=tmp_path / "store")
    ok.record("acc", 0.91, tol=0.02)
    ok.record("gain", 0.14, tol=0.05)
    ok.check()
    assert json.loads((tmp_path / "results" / "99_x.ci.measured.json").read_text())["acc"]

    drifted = kit.Lesson("99_x", store=tmp_path / "store")
    drifted.record("acc", 0.85, tol=0.5)  # the committed tolerance rules, not the new one
    drifted.record("new", 1.0, tol=0.1)
    with pytest.raises(kit.LessonDrift) as info:
        drifted.check()
    message = str(info.value)
    assert "acc: measured 0.8500, committed 0.9000 ± 0.02" in message
    assert "gain: committed 0.1, not measured" in message
    assert "new: measured 1, nothing committed" in message
    assert kit.compare({"a": {"value": float("nan"), "tol": 1}}, {"a": {"value": 0, "tol": 1}})


def test_every_lesson_has_committed_figures_for_both_budgets() -> None:
    for notebook in sorted((DOCS / "lessons").glob("[0-9]*.ipynb")):
        nb = json.loads(notebook.read_text())
        sources = "".join("".join(c["source"]) for c in nb["cells"])
        assert "lesson.check()" in sources, f"{notebook.name} does not check its numbers"
        for budget in ("ci", "full"):
            figures = DOCS / "lessons" / "results" / f"{notebook.stem}.{budget}.json"
            assert figures.is_file(), f"{figures} is missing: run the lesson with --update"
            numbers = json.loads(figures.read_text())
            assert numbers and all({"value", "tol"} <= set(v) for v in numbers.values())
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        assert outputs, f"{notebook.name} is committed without its full-budget outputs"
        assert not any(o["output_type"] == "error" for o in outputs), notebook.name


# ---- the README ----------------------------------------------------------------------------


def test_the_readme_is_the_front_door() -> None:
    """At most 250 lines; its test command is CI's; every link into docs/ exists (its Python
    runs in tests/test_readme.py)."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert "bash scripts/install.sh --dev && .venv/bin/python -m pytest" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/install.sh --dev" in ci and "\n.venv/bin/python -m pytest\n" in ci
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert len(links) >= 10
    for target in links:
        assert (ROOT / target).exists(), f"README links to a missing {target}"
