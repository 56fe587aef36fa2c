"""The config's JSON Schema: generated from the models, shipped in the package, accepted by
every example and lesson config, and in agreement with hone's own validation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hone.config import load_config
from hone.config.schema import config_schema, schema_text, shipped_schema_text
from hone.errors import ConfigError
from tests.conftest import ROOT

NOT_CONFIGS = ("ladder.yaml", "space.yaml")  # a patch list and a search space
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.yaml") if p.name not in NOT_CONFIGS)
LESSON_CONFIGS = sorted((ROOT / "docs" / "lessons" / "configs").glob("*.yaml"))
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")
SHIPPED = ROOT / "src" / "hone" / "config" / "hone.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator: Any, data: Any) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:120]}"
            for e in validator.iter_errors(data)]  # fmt: skip


def test_the_shipped_schema_is_what_the_models_generate() -> None:
    assert shipped_schema_text() == schema_text(), (
        "src/hone/config/hone.schema.json is out of date with the config models: "
        "regenerate it with `hone schema --out src/hone/config/hone.schema.json`"
    )
    assert SHIPPED.read_text(encoding="utf-8") == schema_text()


def _lesson_example_paths() -> list[Path]:
    """The example configs the lesson notebooks read."""
    found: set[Path] = set()
    for notebook in (ROOT / "docs" / "lessons").glob("*.ipynb"):
        for name in re.findall(r"(examples/[\w/.-]+?\.yaml)", notebook.read_text()):
            if Path(name).name not in NOT_CONFIGS:
                found.add(ROOT / name)
    return sorted(found)


@pytest.mark.parametrize("path", EXAMPLES + LESSON_CONFIGS, ids=lambda p: p.name)
def test_every_example_and_lesson_config_starts_with_the_schema_and_matches_it(
    path: Path, validator: Any
) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    line = MODELINE.match(first)
    assert line, f"{path}: the first line should be '# yaml-language-server: $schema=...'"
    assert (path.parent / line.group(1)).resolve() == SHIPPED.resolve(), f"{path}: {first}"
    assert _errors(validator, yaml.safe_load(path.read_text(encoding="utf-8"))) == []
    load_config(path)  # and hone itself accepts it


def test_the_lessons_read_only_configs_the_schema_accepts(validator: Any) -> None:
    used = _lesson_example_paths()
    assert LESSON_CONFIGS and used, "the lessons read their configs from files"
    for path in used:
        assert path.is_file(), f"a lesson reads {path}, which does not exist"
        assert _errors(validator, yaml.safe_load(path.read_text(encoding="utf-8"))) == []


SHORTHANDS = [
    {"data": {"split": "6:2:2"}},
    {"data": {"split": "8:2"}},
    {"train": {"optimizer": "sgd", "schedule": "cosine", "lr": 0.1}},
    {"train": {"schedule": {"warmup_epochs": 3}}},
    {"train": {"schedule": {"name": "one_cycle", "max_lr": 0.1, "pct_start": 0.25}}},
    {"telemetry": False, "log_to": ["tensorboard"]},
    {"train": {"watch": {"every": "200 steps"}, "batch_size": "full", "threads": 2}},
    {"model": {"kind": "cnn", "conv": [{"filters": 8, "pool": "max2", "padding": 1}]}},
]

REFUSED = [
    {"model": {"activation": "relux"}},
    {"model": {"hidden": [0]}},
    {"train": {"epochs": 0}},
    {"train": {"threads": 2000}},
    {"train": {"schedule": {"name": "step", "t_max": 3}}},
    {"train": {"batch_size": "half"}},
    {"data": {"split": {"train": 0.5, "val": 1.5}}},
    {"data": {"dataset": "imagenet"}},
    {"trian": {}},
    {"train": {"early_stopping": {"patience": -1}}},
]


@pytest.mark.parametrize("config", SHORTHANDS, ids=lambda c: json.dumps(c)[:40])
def test_what_hone_accepts_the_schema_accepts(config: dict[str, Any], validator: Any) -> None:
    load_config(config)
    assert _errors(validator, config) == []


@pytest.mark.parametrize("config", REFUSED, ids=lambda c: json.dumps(c)[:40])
def test_what_the_schema_refuses_hone_refuses(config: dict[str, Any], validator: Any) -> None:
    assert _errors(validator, config)
    with pytest.raises(ConfigError):
        load_config(config)


def test_every_key_has_a_meaning() -> None:
    """Each key's docstring is its description: on hover in an editor, in the reference."""
    schema = config_schema()
    missing = []

    def described(node: dict[str, Any]) -> bool:  # a section may say it on its own schema
        target = schema["$defs"].get(node.get("$ref", "").split("/")[-1], {})
        return bool(node.get("description") or node.get("const") or target.get("description"))

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if not described(sub):
                    missing.append(f"{path}{key}")
            for key, sub in node.items():
                walk(sub, path if key != "$defs" else "")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(schema, "")
    assert not missing, f"give these config fields a docstring: {sorted(set(missing))}"


def test_hone_schema_prints_it_and_loads_no_torch() -> None:
    code = (
        "import sys\nfrom hone.cli import main\n"
        "try:\n    main(['schema'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == config_schema()
