"""``hone predict --input``: CSVs are read the way training reads them (a byte-order mark is
no part of a column's name; other encodings and NUL bytes are refused by name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hone
from hone.api import load_run
from hone.errors import DataError
from hone.evaluate.predict_input import load_inputs


@pytest.fixture
def csv_run(tmp_path: Path) -> tuple[str, Path]:
    rng = np.random.default_rng(0)
    rows = ["label,a,b"] + [f"{'xy'[i % 2]},{rng.normal():.3f},{rng.normal():.3f}"
                            for i in range(60)]  # fmt: skip
    data = tmp_path / "train.csv"
    data.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode())  # Excel's "CSV UTF-8"
    store = tmp_path / "store"
    cfg = {"data": {"dataset": "csv", "path": str(data), "target": "label"},
           "train": {"epochs": 1}}  # fmt: skip
    return hone.run(cfg, store=str(store)).run_id, store


def test_a_bom_is_not_part_of_the_header_or_of_a_number(
    tmp_path: Path, csv_run: tuple[str, Path]
) -> None:
    run_id, store = csv_run
    _, built = load_run(run_id, str(store))
    columns = built.data.report["columns"]
    shape, pre = built.data.input_shape, built.data.preprocess
    with_header = tmp_path / "new.csv"
    with_header.write_bytes("\ufeffb,a\n0.5,1.0\n".encode())  # another column order
    bare = tmp_path / "bare.csv"
    bare.write_bytes("\ufeff1.0,0.5\n".encode())
    assert np.allclose(load_inputs(with_header, shape, pre, columns),
                       load_inputs(bare, shape, pre, columns))  # fmt: skip


def test_predict_refuses_other_encodings_and_nul_bytes(
    tmp_path: Path, csv_run: tuple[str, Path]
) -> None:
    run_id, store = csv_run
    _, built = load_run(run_id, str(store))
    args = (built.data.input_shape, built.data.preprocess, built.data.report["columns"])
    for data, needle in ((b"a,b\n1,\xe9\n", "not UTF-8"), (b"a,b\n1,2\x00\n", "NUL byte")):
        path = tmp_path / "in.csv"
        path.write_bytes(data)
        with pytest.raises(DataError, match=needle):
            load_inputs(path, *args)
