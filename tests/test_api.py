"""``hone.run``'s ways in: dotted overrides as ``overrides={...}`` (any key, also one named
like a parameter) or as keyword arguments; a key given twice, or a config section passed as
``model=``/``data=``, is a clear error, never Python's TypeError."""

from __future__ import annotations

from pathlib import Path

import pytest

import hone
from hone.errors import ConfigError
from tests.conftest import tiny


def test_overrides_take_any_key_including_store(tmp_path: Path) -> None:
    result = hone.run(tiny(), overrides={"store": str(tmp_path / "a"), "train.epochs": 1,
                                         "model": {"hidden": [4]}})  # fmt: skip
    assert result.store == tmp_path / "a" and result.config.model.hidden == [4]
    assert result.epochs_run == 1
    same = hone.run(tiny(), store=str(tmp_path / "b"), **{"train.epochs": 1, "seed": 3})
    assert same.store == tmp_path / "b" and same.config.seed == 3


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"overrides": {"train.epochs": 1}, "train__epochs": 2}, "train.epochs: given twice"),
        ({"overrides": {"store": "/a"}, "store": "/b"}, "store: given as store="),
        ({"model": {"hidden": [4]}}, r"model=: takes your own nn.Module.*overrides="),
        ({"data": {"dataset": "digits"}}, r"data=: takes your own data.*overrides="),
        ({"overrides": ["train.epochs=1"]}, "overrides: give a mapping"),
    ],
)
def test_ambiguous_or_misplaced_overrides_are_clear_errors(
    tmp_path: Path, kwargs: dict[str, object], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        hone.run(tiny(), **{"store": str(tmp_path / "s"), **kwargs})  # type: ignore[arg-type]


def test_compare_takes_overrides_too(tmp_path: Path) -> None:
    result = hone.compare(tiny(), vary={"train.optimizer.lr": [0.01]}, seeds=1,
                          overrides={"store": str(tmp_path / "c"), "train.epochs": 1})  # fmt: skip
    assert result.complete and (tmp_path / "c" / "runs.db").is_file()
