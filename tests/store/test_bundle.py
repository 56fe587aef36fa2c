"""A run packed in one store and unpacked in another reads exactly as it did."""

from __future__ import annotations

from pathlib import Path

import pytest

import hone
from hone.errors import StoreError
from hone.store import RunStore
from hone.store.bundle import RunBundle, pack_run, unpack_run
from hone.store.repair import check_store
from tests.conftest import tiny


def test_a_packed_run_unpacks_whole_into_another_store(tmp_path: Path) -> None:
    result = hone.run(tiny(), store=tmp_path / "worker")
    with RunStore(tmp_path / "worker") as rs:
        bundle = pack_run(rs, result.run_id)
        before = rs.get_run(result.run_id)
        weights = rs.load_weights(result.run_id)
    assert {"run.json", "config.yaml", "weights.safetensors"} <= set(bundle.files)
    with RunStore(tmp_path / "driver") as rs:
        assert unpack_run(rs, bundle, str(tmp_path / "driver")) == result.run_id
        after = rs.get_run(result.run_id)
        assert after.status == before.status == "completed"
        assert after.metrics == before.metrics
        assert after.history == before.history
        assert after.config["store"] == str(tmp_path / "driver")  # not the worker's store
        assert rs.load_weights(result.run_id).keys() == weights.keys()
        with pytest.raises(StoreError, match="already"):
            unpack_run(rs, bundle)
    assert check_store(tmp_path / "driver").ok
    # the driver reads it with the usual tools: diagnosis from the unpacked record
    assert hone.diagnose(result.run_id, store=tmp_path / "driver") is not None


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd"])
def test_a_bundle_cannot_write_outside_its_run_folder(tmp_path: Path, name: str) -> None:
    result = hone.run(tiny(train__epochs=1), store=tmp_path / "w")
    with RunStore(tmp_path / "w") as rs:
        bundle = pack_run(rs, result.run_id)
    bad = RunBundle(bundle.run_id, {**bundle.files, name: b"x"})
    with RunStore(tmp_path / "d") as rs, pytest.raises(StoreError, match="outside"):
        unpack_run(rs, bad)
    assert not (tmp_path / "d" / "runs" / result.run_id).exists()
    assert not (tmp_path / "escape.txt").exists()
