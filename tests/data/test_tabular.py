from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hone.config import load_config
from hone.data.load import load_data
from hone.data.tabular import load_csv, load_npz
from hone.errors import DataError


def test_csv_with_string_labels(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n")
    raw = load_csv(str(path), "species")
    assert raw.classes == ["setosa", "virginica"]
    assert raw.y.tolist() == [0, 1, 0]
    np.testing.assert_array_equal(raw.x, [[1, 2], [3, 4], [5, 6]])


def test_csv_categorical_columns_are_one_hot(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("size,colour,label\n1,red,a\n2,blue,b\n3,red,a\n")
    raw = load_csv(str(path), "label")
    # size, then one column per colour (alphabetical: blue, red)
    np.testing.assert_array_equal(raw.x, [[1, 0, 1], [2, 1, 0], [3, 0, 1]])


def test_csv_errors_name_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,0\n3,,1\n")
    with pytest.raises(DataError, match=r"d\.csv:3: column 'b' is empty or NA.*data\.missing"):
        load_csv(str(path), "label")
    with pytest.raises(DataError, match=r"set data\.target to one of: a, b, label"):
        load_csv(str(path), None)
    with pytest.raises(DataError, match="no column 'y'"):
        load_csv(str(path), "y")
    with pytest.raises(DataError, match="does not exist"):
        load_csv(str(tmp_path / "nope.csv"), "label")
    with pytest.raises(DataError, match=r"needs data\.path"):
        load_csv(None, "label")
    path.write_text("a,label\n1,0\n2\n")
    with pytest.raises(DataError, match="1 fields, header has 2"):
        load_csv(str(path), "label")


def test_a_stray_text_cell_in_a_column_of_numbers_is_named_not_one_hot(tmp_path: Path) -> None:
    """One typo in 30 numbers made the column 30 one-hot categories (every number its own),
    silently: the feature was lost. A column with a few text cells is an error that names
    the line, the column and the cell; a column mostly of text is still categories."""
    path = tmp_path / "d.csv"
    cells = [str(v / 10) for v in range(30)]
    cells[6], cells[20] = "12x", "n/a"
    path.write_text("a,b,label\n" + "".join(f"{c},{i},{i % 2}\n" for i, c in enumerate(cells)))
    with pytest.raises(DataError, match=r"d\.csv:8: column 'a' holds '12x' \(and 1 more\), but 28 "
                       r"of its 30 cells are numbers.*data\.missing"):  # fmt: skip
        load_csv(str(path), "label")
    path.write_text("a,size,label\n1,small,0\n2,3,1\n3,large,0\n4,small,1\n")
    raw = load_csv(str(path), "label")  # 1 number in 4 cells: categories (3, large, small)
    assert raw.columns[1]["categories"] == ["3", "large", "small"]


def test_an_infinite_feature_names_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,0\n3,1e39,1\n5,-inf,0\n")  # 1e39 overflows float32
    with pytest.raises(DataError, match=r"d\.csv:3: column 'b' is infinite .* 2 such cell"):
        load_csv(str(path), "label")


def test_missing_policies(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,0\n3,NA,1\n5,6,0\n7,8,1\n")
    dropped = load_csv(str(path), "label", missing="drop")
    assert len(dropped.y) == 3 and dropped.dropped == 1  # said on the run's screen
    raw = load_csv(str(path), "label", missing="mean")
    assert np.isnan(raw.x[1, 1])  # filled later, from the training split only


def test_mean_fill_uses_the_training_split_only(tmp_path: Path) -> None:
    from hone.config import load_config
    from hone.data import load_data

    rows = ["a,label"] + [
        f"{v},{i % 2}" for i, v in enumerate([1, 1, 1, 1, 1, 1, 100, 100, "", ""])
    ]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(rows) + "\n")
    cfg = load_config(
        {
            "data": {
                "dataset": "csv",
                "path": str(path),
                "target": "label",
                "missing": "mean",
                "split": {"train": 0.6, "val": 0.2, "test": 0.2, "shuffle": False},
            }
        }
    )
    data = load_data(cfg.data)
    assert data.test.x[:, 0].tolist() == [1.0, 1.0]  # the two empty cells got the train mean
    assert data.report["filled_missing_cells"] == 2


def test_csv_regression_target(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("x,price\n1,10.5\n2,20.25\n")
    raw = load_csv(str(path), "price", task="regression")
    assert raw.classes == [] and raw.y.tolist() == [10.5, 20.25]
    path.write_text("x,price\n1,cheap\n")
    with pytest.raises(DataError, match="not numeric"):
        load_csv(str(path), "price", task="regression")


def test_npz(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((4, 3)), y=np.array([2, 5, 2, 5]))
    raw = load_npz(str(path))
    assert raw.classes == ["2", "5"] and raw.y.tolist() == [0, 1, 0, 1]
    np.savez(path, features=np.ones(3))
    with pytest.raises(DataError, match="'x' and 'y'"):
        load_npz(str(path))
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable NPZ"):
        load_npz(str(path))


def test_errors_never_echo_a_file_that_is_not_a_table(tmp_path: Path) -> None:
    """A secret or /etc/passwd given as a CSV must not be printed back in the error."""
    from hone.errors import DataError

    secret = tmp_path / "secret.csv"
    secret.write_text("API_KEY=sk-verysecret123\nOTHER=1\n")
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/bin/sh\n")
    for path in (secret, passwd):
        for target in (None, "label"):
            cfg = load_config(
                {"data": {"dataset": "csv", "path": str(path), "target": target}}
            ).data
            with pytest.raises(DataError) as info:
                load_data(cfg)
            message = str(info.value)
            assert "sk-verysecret" not in message and "/bin/bash" not in message
            assert "does not look like a table" in message
    table = tmp_path / "t.csv"
    table.write_text("width,height,kind\n1,2,a\n3,4,b\n")
    with pytest.raises(DataError, match="one of: width, height, kind"):
        load_data(load_config({"data": {"dataset": "csv", "path": str(table)}}).data)
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(100)) + "\n" + ",".join("1" * 100) + "\n")
    with pytest.raises(DataError) as info:
        load_data(load_config({"data": {"dataset": "csv", "path": str(wide)}}).data)
    assert (
        "c19" in str(info.value) and "c20," not in str(info.value) and "80 more" in str(info.value)
    )


def test_runs_share_a_split_until_the_file_or_the_config_changes(tmp_path: Path) -> None:
    from hone.config import load_config
    from hone.data import load_data

    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(40)))
    cfg = load_config({"data": {"dataset": "csv", "path": str(path), "target": "label",
                                "split": "6:2:2"}}).data  # fmt: skip
    first, second = load_data(cfg), load_data(cfg)
    assert second.train.x.data_ptr() == first.train.x.data_ptr()  # the same split, not redone
    second.report["note"] = "mine"
    assert "note" not in load_data(cfg).report  # each caller gets its own report
    other = load_config({"data": {**cfg.model_dump(), "split": "8:1:1"}}).data
    assert len(load_data(other).train) != len(first.train)
    path.write_text(path.read_text() + "".join(f"{i},{i % 3},x\n" for i in range(40, 60)))
    assert len(load_data(cfg).train) > len(first.train)  # a changed file is read again


def test_a_missing_file_names_the_absolute_path_tried_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as info:
        load_csv("sub/nope.csv", "label")
    msg = str(info.value)
    assert f"{tmp_path / 'sub' / 'nope.csv'} ('sub/nope.csv' relative to the working" in msg
    assert f"does not exist; the nearest folder that exists is {tmp_path}" in msg
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataError, match="is a folder; dataset 'csv' reads a file"):
        load_csv(str(tmp_path / "folder.csv"), "label")


def test_a_csv_saved_by_excel_with_a_byte_order_mark_reads_its_first_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefflabel,a,b\r\nx,1,2\r\ny,3,4\r\nx,5,6\r\n".encode())  # "CSV UTF-8"
    raw = load_csv(str(path), "label")
    assert raw.classes == ["x", "y"] and raw.x.tolist() == [[1, 2], [3, 4], [5, 6]]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ("label,name\na,café\nb,naïve\n".encode("cp1252"), "Windows-1252"),
        ("label,a\nx,1\ny,2\n".encode("utf-16"), "UTF-16"),
        (b"label,a\nx,1\ny,2\x00\x00\nx,3\n", "2 NUL bytes"),
    ],
)
def test_other_encodings_and_nul_bytes_are_refused_by_name(
    tmp_path: Path, data: bytes, needle: str
) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(data)
    with pytest.raises(DataError, match=needle) as info:
        load_csv(str(path), "label")
    assert str(path) in str(info.value)
    if needle == "2 NUL bytes":
        assert f"{path}:3:" in str(info.value)
    if needle == "Windows-1252":
        assert "not UTF-8" in str(info.value) and "iconv" in str(info.value)
