from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hone.data.tabular import load_csv, load_npz
from hone.errors import DataError


def test_csv_with_string_labels(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n")
    raw = load_csv(str(path), "species")
    assert raw.classes == ["setosa", "virginica"]
    assert raw.y.tolist() == [0, 1, 0]
    np.testing.assert_array_equal(raw.x, [[1, 2], [3, 4], [5, 6]])


def test_csv_errors_name_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(DataError, match=r"d\.csv:3: column 'b' is not numeric"):
        load_csv(str(path), "label")
    with pytest.raises(DataError, match=r"set data\.target to one of: a, b, label"):
        load_csv(str(path), None)
    with pytest.raises(DataError, match="no column 'y'"):
        load_csv(str(path), "y")
    with pytest.raises(DataError, match="does not exist"):
        load_csv(str(tmp_path / "nope.csv"), "label")
    with pytest.raises(DataError, match=r"needs data\.path"):
        load_csv(None, "label")


def test_npz(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((4, 3)), y=np.array([2, 5, 2, 5]))
    raw = load_npz(str(path))
    assert raw.classes == ["2", "5"] and raw.y.tolist() == [0, 1, 0, 1]
    np.savez(path, features=np.ones(3))
    with pytest.raises(DataError, match="'x' and 'y'"):
        load_npz(str(path))
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot read NPZ"):
        load_npz(str(path))
