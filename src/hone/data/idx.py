"""MNIST and Fashion-MNIST from their IDX ``.gz`` files, downloaded and verified when missing.

Files are looked for in ``data.path``, else ``$HONE_DATA/<name>/``, else the user cache
(``~/.cache/hone/datasets/<name>/``). A download writes to a temporary file in the same folder,
checks the md5 of the *decompressed* bytes (gzip headers differ between mirrors) and only then
renames it into place, so a half-written file is never used.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from hone.data.base import RawData
from hone.errors import DataError, HoneNotice, warn

__all__ = ["DATASETS", "download", "find_or_download", "load_idx_dataset", "read_idx"]

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# md5 of the decompressed files, and the official mirrors, per dataset.
DATASETS: dict[str, dict[str, object]] = {
    "mnist": {
        "md5": {
            "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
        },
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        "classes": [str(d) for d in range(10)],
    },
    "fashion_mnist": {
        "md5": {
            "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
            "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
            "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
        },
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "classes": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
    },
}

_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


MAX_IDX_BYTES = 2 * 2**30  # beyond any real IDX dataset: a header asking for more is a bomb


def _read_bounded(path: Path) -> bytes:
    """The decompressed bytes, reading no more than the header says the file holds (so a
    small gzip that expands to gigabytes is refused before it is expanded)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        head = fh.read(4)
        if len(head) < 4 or head[0] or head[1] or head[2] not in _DTYPES:
            return head
        dims_raw = fh.read(4 * head[3])
        dims = [
            int.from_bytes(dims_raw[4 * i : 4 * i + 4], "big") for i in range(len(dims_raw) // 4)
        ]
        expected = int(np.prod(dims, dtype=np.float64)) * np.dtype(_DTYPES[head[2]]).itemsize
        if expected > MAX_IDX_BYTES:
            raise DataError(
                f"{path}: the header declares {dims} ({expected / 2**30:.0f} GB), more than an "
                "IDX dataset hone reads; the file is corrupt or hostile"
            )
        return head + dims_raw + fh.read(expected + 1)


def read_idx(path: Path) -> np.ndarray:
    """Parse a (gzipped) IDX file; any truncation or corruption raises ``DataError`` naming it."""
    try:
        data = _read_bounded(path)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path}: cannot read or decompress ({exc}); delete it to re-download"
        ) from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number); delete it to re-download")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header; delete it to re-download")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(
            f"{path}: truncated or corrupt: header says {dims} ({expected} bytes of data), "
            f"file has {len(data) - header}; delete it to re-download"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


def default_dir(name: str) -> Path:
    home = os.environ.get("HONE_DATA")
    if home:
        return Path(home) / name
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hone" / "datasets" / name


def _md5_of_decompressed(path: Path) -> str:
    digest = hashlib.md5()
    with gzip.open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    filename: str, folder: Path, mirrors: list[str], md5: str, timeout: float = 30
) -> Path:
    """Fetch ``filename`` from the first mirror that serves it with the right content."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=folder)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
            got = _md5_of_decompressed(tmp)
            if got != md5:
                failures.append(f"{url}: checksum mismatch (md5 {got}, expected {md5})")
                continue
            os.replace(tmp, target)  # atomic: the target is either absent or complete
            return target
        except (urllib.error.URLError, OSError, EOFError, zlib.error) as exc:
            failures.append(f"{url}: {exc}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DataError(f"could not download {filename}:\n  " + "\n  ".join(failures))


def find_or_download(name: str, path: str | None, mirrors: list[str] | None) -> Path:
    """Return the folder holding all four files of ``name``, downloading what is missing.

    A ``data.path`` folder must exist: a mistyped path is an error naming it, never a tree of
    new folders. Only the default folder (``$HONE_DATA/<name>`` or the user cache) is created,
    and a download says where it goes."""
    spec = DATASETS[name]
    if path:
        folder = Path(path).expanduser().resolve()
        if not folder.exists():
            parent = next((q for q in folder.parents if q.is_dir()), None)
            near = f" (the nearest folder that exists is {parent})" if parent else ""
            raise DataError(
                f"data.path: {folder} does not exist{near}. Fix the path, create the folder to "
                f"download {name} into it, or remove data.path to use {default_dir(name)} "
                "(relative paths in a config file are read from that file's folder)"
            )
    else:
        folder = default_dir(name)
    if folder.is_file():
        raise DataError(f"data.path: {folder} is a file; give the folder holding the IDX files")
    missing = [f for f in FILES.values() if not (folder / f).is_file()]
    md5s: dict[str, str] = spec["md5"]  # type: ignore[assignment]
    urls: list[str] = mirrors if mirrors is not None else spec["mirrors"]  # type: ignore[assignment]
    if missing:
        made = "" if folder.is_dir() else " (a new folder)"
        warn(f"{name}: downloading {len(missing)} file(s) into {folder}{made}", HoneNotice)
    for filename in missing:
        try:
            download(filename, folder, urls, md5s[filename])
        except DataError as exc:
            raise DataError(
                f"{name}: {filename} is not in {folder} and could not be downloaded "
                f"(offline?).\nPut the four files {', '.join(FILES.values())} into {folder}, "
                f"or set data.path to the folder that holds them.\n{exc}"
            ) from None
    return folder


_VERIFIED: set[tuple[str, int, int, str]] = set()


_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def _verify(path: Path, md5: str, name: str = "") -> None:
    """The official content, not merely a file of the right name (checked once per process)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, md5)  # as this dataset's file
    if key in _VERIFIED:
        return
    try:
        got = _md5_of_decompressed(path)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc}); delete it to re-download") from None
    if got != md5:
        other = next((n for n, spec in DATASETS.items()
                      if got in spec["md5"].values()), None)  # type: ignore[attr-defined]  # fmt: skip
        if other is not None:
            raise DataError(
                f"{path}: this is {_TITLES[other]}'s file, not {_TITLES.get(name, name)}'s (its "
                f"content is {other}'s official file, md5 {got}): point data.path at the "
                f"folder holding {name}, or set data.dataset: {other}"
            )
        raise DataError(
            f"{path}: the content differs from the official file (md5 {got}, expected {md5}); "
            "delete it to re-download, or use dataset: npz for data of your own"
        )
    _VERIFIED.add(key)


def load_idx_dataset(name: str, path: str | None, mirrors: list[str] | None) -> RawData:
    folder = find_or_download(name, path, mirrors)
    md5s: dict[str, str] = DATASETS[name]["md5"]  # type: ignore[assignment]
    for filename in FILES.values():
        _verify(folder / filename, md5s[filename], name)
    arrays = {key: read_idx(folder / filename) for key, filename in FILES.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{folder}: {part} images {images.shape} and labels {labels.shape} do not match"
            )

    def as_float(images: np.ndarray) -> np.ndarray:
        # (N, 1, H, W) float32 in [0, 1], as the textbook scales pixels.
        return (images.astype(np.float32) / 255.0)[:, None, :, :]

    return RawData(
        as_float(arrays["train_images"]),
        arrays["train_labels"].astype(np.int64),
        list(DATASETS[name]["classes"]),  # type: ignore[call-overload]
        test=(as_float(arrays["test_images"]), arrays["test_labels"].astype(np.int64)),
    )
