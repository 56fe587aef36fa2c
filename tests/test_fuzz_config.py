"""Fuzzing the config: thousands of mutated configs, as Python mappings and as YAML bytes.

Every one must end as a validated ``Config`` or a ``ConfigError`` (or, once built, a
``HoneError``): no traceback, no hang. Hostile strings (markup, ANSI, NUL, very long text,
aliases, deep nesting) go into every string field, and the runs that do train still render in
``hone runs list`` and ``runs show``.
"""

from __future__ import annotations

import contextlib
import copy
import random
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hone.config import Config, load_config, read_yaml
from hone.errors import HoneError
from tests.conftest import tiny

HOSTILE_STRINGS = [
    "",
    " ",
    "a[/]b",
    "[bold red]boom[/]",
    "\x1b[31mred\x1b[0m\x1b[2J",
    ":x:",
    "nul\x00byte",
    "x" * 5000,
    "../../etc/passwd",
    "%s%n{0}",
    "é漢字🙂",
    "line\nbreak",
    "*alias",
    "&anchor",
    "- list",
    "{a: 1}",
]
VALUES = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.booleans(),
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(-5, 10**7), max_size=4),
    st.dictionaries(
        st.sampled_from(["name", "x", "lr", "filters"]), st.integers(-3, 9), max_size=3
    ),
    st.recursive(st.integers(0, 3), lambda inner: st.lists(inner, max_size=2), max_leaves=60),
)


def _paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    return out


BASE = Config().to_dict()
BASE["train"]["epochs"] = 1
BASE["data"]["params"] = {"n_samples": 60}
PATHS = [*_paths(BASE), ("train", "schedule", "step_size"), ("train", "optimizer", "momentum")]


def _mutate(base: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(base)
    node = cfg
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return cfg


def _judge(raw: Any) -> Config | None:
    """A Config or None (a clean error); anything else fails the test."""
    started = time.monotonic()
    try:
        return load_config(raw)
    except HoneError:
        return None
    finally:
        assert time.monotonic() - started < 5, "validation hung"


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(PATHS), value=VALUES, second=st.sampled_from(PATHS), other=VALUES)
def test_mutated_mappings_validate_or_fail_cleanly(
    path: tuple[str, ...], value: Any, second: tuple[str, ...], other: Any
) -> None:
    _judge(_mutate(_mutate(BASE, path, value), second, other))


def test_mutated_yaml_bytes_load_or_fail_cleanly(tmp_path: Path) -> None:
    """Byte-level mutations of real example configs: flips, deletions, duplications."""
    rng = random.Random(0)
    sources = sorted(Path(__file__).resolve().parent.parent.glob("examples/*.yaml"))
    texts = [p.read_bytes() for p in sources]
    path = tmp_path / "c.yaml"
    tokens = [b"&a ", b"*a", b"[", b"]", b"{", b"}", b": ", b"\n  ", b"\x00", b"\xff", b"!!python"]
    for i in range(1000):
        data = bytearray(rng.choice(texts))
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(data) + 1)
            op = rng.random()
            if op < 0.3 and data:
                data[min(pos, len(data) - 1)] = rng.randrange(256)
            elif op < 0.5:
                del data[pos : pos + rng.randint(1, 20)]
            elif op < 0.8:
                data[pos:pos] = rng.choice(tokens)
            else:
                chunk = data[pos : pos + rng.randint(1, 40)]
                data[pos:pos] = chunk * rng.randint(1, 50)
        path.write_bytes(bytes(data))
        started = time.monotonic()
        with contextlib.suppress(HoneError):
            load_config(path)
        assert time.monotonic() - started < 5, f"mutation {i} hung"


def test_hostile_strings_in_every_string_field_train_or_fail_cleanly(tmp_path: Path) -> None:
    """Each hostile string in each string-valued field, run end to end where it validates;
    then the store's tables still render."""
    from hone.cli import main

    store = tmp_path / "store"
    base = tiny(**{"train.epochs": 1, "data.params": {"n_samples": 60}})
    string_paths = [
        ("name",),
        ("data", "path"),
        ("data", "target"),
        ("model", "activation"),
        ("model", "init"),
        ("train", "loss"),
        ("train", "device"),
        ("train", "optimizer", "name"),
        ("train", "schedule", "name"),
        ("model", "init_from"),
        ("store",),
    ]
    trained = 0
    for path in string_paths:
        for text in HOSTILE_STRINGS:
            raw = _mutate(base, path, text)
            if path == ("store",):
                raw["store"] = str(tmp_path / "other")
            cfg = _judge(raw)
            if cfg is None:
                continue
            import hone

            try:
                hone.run(cfg, store=str(store))
                trained += 1
            except HoneError:
                pass
    assert trained >= len(HOSTILE_STRINGS)  # every hostile name trained
    for args in (["runs", "list"], ["runs", "list", "--json"]):
        with pytest.raises(SystemExit) as info:
            main([*args, "--store", str(store)])
        assert info.value.code in (0, None)
    import hone.store

    with hone.store.RunStore(store) as rs:
        for record in rs.list_runs():
            with pytest.raises(SystemExit) as info:
                main(["runs", "show", record.id, "--store", str(store)])
            assert info.value.code in (0, None)
            with pytest.raises(SystemExit) as info:
                main(["diagnose", record.id, "--store", str(store)])
            assert info.value.code in (0, None)


def test_yaml_that_is_not_a_mapping_or_not_text(tmp_path: Path) -> None:
    for text in (b"- a\n- b\n", b"\xff\xfe\x00", b"!!binary AAAA\n", b"a: !!python/object {}\n"):
        path = tmp_path / "c.yaml"
        path.write_bytes(text)
        with pytest.raises(HoneError):
            read_yaml(path)
    assert yaml  # the loader used above is PyYAML's safe loader
