"""Every example config validates; the small ones also train."""

from __future__ import annotations

from pathlib import Path

import pytest

import hone
from hone.config import load_config

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").rglob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.name))
def test_example_validates(path: Path) -> None:
    load_config(path)


def test_moons_example_trains(tmp_path: Path) -> None:
    result = hone.run(Path(EXAMPLES[0]).parent / "moons.yaml", store=str(tmp_path))
    assert result.status == "completed" and result.metrics["test_accuracy"] > 0.85
