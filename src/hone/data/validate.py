"""Checks every dataset passes when it loads: shapes, types, finite values, label ranges, enough
rows, and sizes bounded before anything large is decompressed or allocated."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from hone.data.base import RawData
from hone.errors import DataError

__all__ = ["MAX_BYTES", "check_npz_sizes", "check_raw", "check_splits"]

MAX_BYTES = 8 * 2**30  # no dataset array above 8 GB is read (decompression and shape bombs)
MIN_TRAIN = 2
MIN_ROWS = 10


def check_raw(raw: RawData, source: str, allow_nan: bool = False, min_rows: int = 0) -> None:
    """Features: at least 2-D (rows x features), numeric, finite; labels: one per row."""
    x, y = raw.x, raw.y
    if x.ndim < 2:
        raise DataError(
            f"{source}: features must have one row per example (2-D or more), got shape "
            f"{x.shape}; reshape x to (rows, features)"
        )
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{source}: features must be numbers, got {x.dtype}")
    if x.shape[1:] and int(np.prod(x.shape[1:])) == 0:
        raise DataError(
            f"{source}: there are no feature columns (every column is the target?); a model "
            "needs at least one input feature"
        )
    if len(x) != len(y):
        raise DataError(f"{source}: {len(x)} feature rows but {len(y)} labels")
    needed = min_rows or MIN_ROWS
    if len(x) < needed:
        raise DataError(
            f"{source}: {len(x)} row(s); hone needs at least {needed} to split into training "
            "and test data and learn anything"
        )
    bad = ~np.isfinite(x) if allow_nan is False else np.isinf(x)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(x), -1).any(1))
        what = "inf" if allow_nan else "NaN or inf"
        raise DataError(
            f"{source}: features contain {what} in {len(rows)} row(s) (first: row {rows[0]}); "
            "clean them, or for CSV set data.missing: drop | mean"
        )
    if raw.test is not None:
        test = RawData(raw.test[0], raw.test[1], raw.classes)
        check_raw(test, f"{source} (test)", allow_nan, min_rows=1)
    if raw.classes:
        labels = np.asarray(y)
        if labels.size and (labels.min() < 0 or labels.max() >= len(raw.classes)):
            raise DataError(
                f"{source}: labels must be 0..{len(raw.classes) - 1} for {len(raw.classes)} "
                f"classes, found {int(labels.min())}..{int(labels.max())}"
            )


def check_splits(sizes: dict[str, int], requested: dict[str, float], source: str) -> None:
    """Enough rows in every split that was asked for."""
    if sizes["train"] < MIN_TRAIN:
        raise DataError(
            f"{source}: the training split has {sizes['train']} row(s); training needs at least "
            f"{MIN_TRAIN}. Use more data or a larger data.split.train"
        )
    for name in ("val", "test"):
        if requested.get(name, 0) > 0 and sizes.get(name, 0) == 0:
            raise DataError(
                f"{source}: data.split.{name} is {requested[name]:g} but leaves no rows of the "
                f"{sum(sizes.values())}; use more data or a larger fraction"
            )


def check_npz_sizes(path: Path) -> None:
    """Read each array's header before loading it: a tiny file can declare a huge array."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as fh:
                    major, _minor = np.lib.format.read_magic(fh)
                    read = (
                        np.lib.format.read_array_header_1_0
                        if major == 1
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read(fh)
                size = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
                if size > MAX_BYTES:
                    raise DataError(
                        f"{path}: array '{info.filename[:-4]}' declares shape {shape} "
                        f"({size / 2**30:.0f} GB); hone reads arrays up to {MAX_BYTES // 2**30} GB"
                    )
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DataError(
            f"{path}: not a readable NPZ archive ({str(exc)[:120]}); save with "
            "numpy.savez(path, x=..., y=...) (a .npy file is one array, not an archive)"
        ) from None
