"""User tables: CSV with a named target column (labels may be strings) and NPZ with ``x``, ``y``."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from hone.data.base import RawData
from hone.errors import DataError

__all__ = ["encode_labels", "load_csv", "load_npz"]


def encode_labels(values: np.ndarray | list[str], source: str) -> tuple[np.ndarray, list[str]]:
    """Map labels to 0..K-1; numeric labels keep numeric order, strings sort alphabetically."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{source}: labels must be one-dimensional, got shape {arr.shape}")
    if len(arr) == 0:
        raise DataError(f"{source}: no rows")
    try:
        numeric = arr.astype(np.float64)
        uniq = np.unique(numeric)
        if not np.all(np.isfinite(uniq)):
            raise DataError(f"{source}: labels contain NaN or inf")
        names = [str(int(u)) if float(u).is_integer() else str(u) for u in uniq]
        return np.searchsorted(uniq, numeric).astype(np.int64), names
    except ValueError:
        strs = arr.astype(str)
        uniq_s = np.unique(strs)
        return np.searchsorted(uniq_s, strs).astype(np.int64), [str(u) for u in uniq_s]


def _require_file(path: str | None, kind: str) -> Path:
    if not path:
        raise DataError(f"data.path: dataset '{kind}' needs data.path pointing to the file")
    p = Path(path)
    if not p.is_file():
        raise DataError(f"data.path: {p} does not exist or is not a file")
    return p


def _targets(
    values: np.ndarray | list[str], source: str, task: str
) -> tuple[np.ndarray, list[str]]:
    if task != "regression":
        return encode_labels(values, source)
    try:
        y = np.asarray(values, dtype=np.float32)
    except ValueError:
        raise DataError(f"{source}: task is regression but the target is not numeric") from None
    if not np.all(np.isfinite(y)):
        raise DataError(f"{source}: regression targets contain NaN or inf")
    return y, []


def load_csv(path: str | None, target: str | None, task: str = "classification") -> RawData:
    p = _require_file(path, "csv")
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{p}: cannot read CSV: {exc}") from None
    if len(rows) < 2:
        raise DataError(f"{p}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if target is None or target not in header:
        what = "data.target is not set" if target is None else f"no column '{target}'"
        raise DataError(f"{p}: {what}; set data.target to one of: {', '.join(header)}")
    t = header.index(target)
    feats: list[list[float]] = []
    labels: list[str] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise DataError(f"{p}:{lineno}: {len(row)} fields, header has {len(header)}")
        values = []
        for i, cell in enumerate(row):
            if i == t:
                continue
            try:
                values.append(float(cell))
            except ValueError:
                raise DataError(
                    f"{p}:{lineno}: column '{header[i]}' is not numeric ({cell!r})"
                ) from None
        feats.append(values)
        labels.append(row[t].strip())
    y, classes = _targets(labels, str(p), task)
    x = np.asarray(feats, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{p}: features contain NaN or inf; clean or drop those rows")
    return RawData(x, y, classes)


def load_npz(path: str | None, task: str = "classification") -> RawData:
    p = _require_file(path, "npz")
    try:
        with np.load(p, allow_pickle=False) as npz:
            keys = list(npz.keys())
            if "x" not in keys or "y" not in keys:
                raise DataError(f"{p}: needs arrays named 'x' and 'y', found {keys}")
            x, y_raw = npz["x"], npz["y"]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{p}: cannot read NPZ: {exc}") from None
    if len(x) != len(y_raw):
        raise DataError(f"{p}: x has {len(x)} rows but y has {len(y_raw)}")
    y, classes = _targets(y_raw, str(p), task)
    return RawData(np.asarray(x, dtype=np.float32), y, classes)
