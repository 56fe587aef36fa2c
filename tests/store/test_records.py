from __future__ import annotations

import json
import math
from typing import Any

import pytest

from hone.store.records import RunRecord, clean_json, strict_json

VALUES: list[Any] = [
    {"a": [1.0, 2.5, (3, 4)], "b": {"c": None, 1: "x", 2.5: [True, "é"]}},
    {"loss": [0.5, math.nan, math.inf, -math.inf], "nested": [{"x": math.nan}]},
    {math.inf: 1, "ok": 2},  # a key JSON refuses without allow_nan
    {"t": (1.0, (2.0, math.nan))},
    [],
    math.nan,
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("indent", [None, 1])
def test_strict_json_writes_what_clean_json_then_json_write(value: Any, indent: int | None) -> None:
    text = strict_json(value, indent)
    assert json.loads(text) == json.loads(json.dumps(clean_json(value), indent=indent))
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    assert text.isascii()  # as Python's encoder writes it: read back alike in any locale
    if indent is not None:
        assert text == json.dumps(clean_json(value), indent=indent)


def test_strict_json_refuses_what_python_json_refuses() -> None:
    class Unknown:
        pass

    with pytest.raises(TypeError):
        strict_json({"x": Unknown()})
    with pytest.raises(TypeError):
        strict_json({"x": {1, 2}})
    # orjson would write these where Python's encoder refuses or writes them differently:
    # the result is Python's
    assert json.loads(strict_json({"big": 2**70, (1, 2): "t"})) == {"big": 2**70, "(1, 2)": "t"}


def test_run_json_text_is_the_record_as_json() -> None:
    history = {"epoch": [1, 2, 3], "loss": [1.0, math.inf, 0.5]}
    record = RunRecord("r", "n", "completed", 1.0, 2.0, 0, {"seed": 0}, {"val_loss": math.nan},
                       3, 1.5, "", history=history)  # fmt: skip
    assert json.loads(record.json_text()) == record.to_json()
    assert "damaged" not in record.to_json()
    record.damaged = ["metrics"]
    assert json.loads(record.json_text()) == record.to_json()
