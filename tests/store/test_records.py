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
    assert strict_json(value, indent) == json.dumps(clean_json(value), indent=indent)
    json.loads(strict_json(value, indent))  # strict JSON: no NaN or Infinity tokens


def test_run_json_text_is_the_record_as_json() -> None:
    history = {"epoch": [1, 2, 3], "loss": [1.0, math.inf, 0.5]}
    record = RunRecord("r", "n", "completed", 1.0, 2.0, 0, {"seed": 0}, {"val_loss": math.nan},
                       3, 1.5, "", history=history)  # fmt: skip
    assert json.loads(record.json_text()) == record.to_json()
    assert "damaged" not in record.to_json()
    record.damaged = ["metrics"]
    assert json.loads(record.json_text()) == record.to_json()
