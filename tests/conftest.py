"""Shared fixtures: a temporary run store, the offline datasets and tiny configs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("HONE_TEST_DATASETS", ROOT.parent / "shared" / "datasets"))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def datasets() -> Path:
    if not (DATASETS / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"offline datasets not found at {DATASETS} (set HONE_TEST_DATASETS)")
    return DATASETS


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a grouped test before its fixtures start if pytest-xdist's loadgroup did not
    group it: tests that share one resource (a Ray cluster) would run in two workers at once
    and fail by chance."""
    grouped = getattr(item.config.option, "loadgroup", False)
    if grouped and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            f"pytest-xdist ignored this test's xdist_group under pytest {pytest.__version__}; "
            "install the versions pyproject.toml's dev extra names",
            pytrace=False,
        )


def tiny(**overrides: Any) -> dict[str, Any]:
    """A seconds-fast classification config on blobs; dotted keys override."""
    from hone.config import apply_overrides

    cfg: dict[str, Any] = {
        "name": "tiny",
        "seed": 0,
        "data": {"dataset": "blobs", "params": {"n_samples": 200}, "split": "6:2:2"},
        "model": {"hidden": [16]},
        "train": {"epochs": 5, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.01}},
    }
    return apply_overrides(cfg, overrides)
