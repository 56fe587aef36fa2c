"""MNIST-style IDX loading from ../shared/datasets and the downloader against a local server."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hone.config import load_config
from hone.data import load_data
from hone.data.idx import FILES, download, find_or_download, load_idx_dataset, read_idx
from hone.errors import DataError


def test_mnist_loads_with_official_test_set(datasets: Path) -> None:
    raw = load_idx_dataset("mnist", str(datasets / "mnist"), mirrors=[])
    assert raw.x.shape == (60000, 1, 28, 28) and raw.x.dtype == np.float32
    assert raw.test is not None and raw.test[0].shape == (10000, 1, 28, 28)
    assert raw.x.mean() == pytest.approx(0.1307, abs=1e-4)
    counts = np.bincount(raw.y)
    assert counts.min() == 5421 and counts.max() == 6742


def test_mnist_split_divides_the_60000(datasets: Path) -> None:
    cfg = load_config({"data": {"dataset": "mnist", "path": str(datasets / "mnist")}})
    data = load_data(cfg.data)
    assert (len(data.train), len(data.val or []), len(data.test)) == (54000, 6000, 10000)
    assert data.input_shape == (1, 28, 28)


def test_fashion_mnist_statistics(datasets: Path) -> None:
    raw = load_idx_dataset("fashion_mnist", str(datasets / "fashion-mnist"), mirrors=[])
    assert raw.x.mean() == pytest.approx(0.2860, abs=1e-4)
    assert np.bincount(raw.y).tolist() == [6000] * 10
    assert raw.classes[9] == "Ankle boot"


def test_truncated_and_corrupt_files_are_named(tmp_path: Path, datasets: Path) -> None:
    good = (datasets / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    truncated = tmp_path / "t10k-labels-idx1-ubyte.gz"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=re.escape(str(truncated))):
        read_idx(truncated)
    short = tmp_path / "short.gz"
    short.write_bytes(gzip.compress(gzip.decompress(good)[:-10]))
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(short)
    garbage = tmp_path / "garbage.gz"
    garbage.write_bytes(gzip.compress(b"\x07\x07\x07\x07hello"))
    with pytest.raises(DataError, match="bad magic"):
        read_idx(garbage)


@pytest.fixture
def http_server(datasets: Path) -> Iterator[str]:
    """``python -m http.server`` on 127.0.0.1 serving ../shared/datasets."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
            str(datasets),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = re.search(r"port (\d+)", line)
        assert port, line
        yield f"http://127.0.0.1:{port.group(1)}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_downloader_fetches_verifies_and_loads(tmp_path: Path, http_server: str) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()  # a data.path folder the user made: hone downloads into it
    cfg = load_config(
        {
            "data": {
                "dataset": "mnist",
                "path": str(folder),
                "mirrors": [f"{http_server}/missing/", f"{http_server}/mnist/"],
            }
        }
    )
    data = load_data(cfg.data)
    assert len(data.test) == 10000
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES.values())  # no .part left


def test_downloader_rejects_wrong_content(tmp_path: Path, http_server: str) -> None:
    # Fashion-MNIST's file served under MNIST's name fails MNIST's checksum and is not kept.
    with pytest.raises(DataError, match="checksum mismatch"):
        download(
            "t10k-labels-idx1-ubyte.gz",
            tmp_path,
            [f"{http_server}/fashion-mnist/"],
            md5="27ae3e4e09519cfbb04c329615203637",
        )
    assert list(tmp_path.iterdir()) == []


def test_offline_and_missing_says_where_to_put_files(tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    with pytest.raises(DataError) as info:
        find_or_download("mnist", str(tmp_path / "none"), mirrors=["http://127.0.0.1:9/"])
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and str(tmp_path / "none") in msg
    assert "data.path" in msg


def test_partial_folder_downloads_only_what_is_missing(
    tmp_path: Path, datasets: Path, http_server: str
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    for name in FILES.values():
        if "train" in name:
            shutil.copy(datasets / "mnist" / name, folder / name)
    find_or_download("mnist", str(folder), [f"{http_server}/mnist/"])
    assert all((folder / f).is_file() for f in FILES.values())


def test_split_train_is_honoured_with_a_fixed_test_set(datasets: Path) -> None:
    """split.train: 1000/60000 trains on 1,000 images, not on all that val leaves over."""
    cfg = load_config({"data": {"dataset": "mnist", "path": str(datasets / "mnist"),
                                "split": {"train": 1000 / 60000, "val": 0.05}}})  # fmt: skip
    data = load_data(cfg.data)
    assert (len(data.train), len(data.val or []), len(data.test)) == (1000, 3000, 10000)
    counts = np.bincount(data.train.y.numpy(), minlength=10)
    assert counts.min() >= 80  # stratified: every digit is there


def test_a_mistyped_data_path_is_an_error_naming_it_and_creates_nothing(tmp_path: Path) -> None:
    typo = tmp_path / "datsets" / "mnist"
    with pytest.raises(DataError) as info:
        find_or_download("mnist", str(typo), mirrors=["http://127.0.0.1:9/"])
    msg = str(info.value)
    assert f"{typo} does not exist" in msg and f"nearest folder that exists is {tmp_path}" in msg
    assert not (tmp_path / "datsets").exists()  # no folders made for a typo


def test_fashion_mnist_pointed_at_mnist_says_it_is_mnist(datasets: Path) -> None:
    cfg = load_config({"data": {"dataset": "fashion_mnist", "path": str(datasets / "mnist")}})
    with pytest.raises(DataError) as info:
        load_data(cfg.data)
    msg = str(info.value)
    assert "this is MNIST's file, not Fashion-MNIST's" in msg and "delete" not in msg
    assert "data.dataset: mnist" in msg
