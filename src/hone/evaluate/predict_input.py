"""Read new inputs for ``hone predict --input``: .npy, .csv or an image, transformed exactly as
the training data was (shape, pixel scale, the scaler fitted on the training split)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hone.data.images import to_array
from hone.data.preprocess import apply_scaler
from hone.data.tabular import encode_rows
from hone.errors import DataError

__all__ = ["load_inputs"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")


def _image(path: Path, shape: tuple[int, ...], image: dict[str, Any] | None) -> np.ndarray:
    """Decode like the training images: the run's grayscale/resize/mode, else fit ``shape``."""
    if len(shape) != 3:
        raise DataError(f"{path}: this model takes {shape}-shaped rows, not images")
    from PIL import Image, UnidentifiedImageError

    c, h, w = shape
    gray = bool(image["grayscale"]) if image else c == 1
    mode = str(image["resize_mode"]) if image else "stretch"
    try:
        with Image.open(path) as opened:
            arr = to_array(opened, gray, (h, w), mode)
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"{path}: cannot read image: {exc}") from None
    return (arr.astype(np.float32) / 255.0)[None]


def _table(path: Path, columns: list[dict[str, Any]], preprocess: dict[str, Any]) -> np.ndarray:
    """A CSV in the training format (a header naming the columns), encoded as training was."""
    import csv

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r]
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        raise DataError(f"{path}: cannot read CSV: {str(exc)[:200]}") from None
    if len(rows) < 2:
        raise DataError(f"{path}: no rows to predict on (a header and at least one data row)")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    for lineno, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{path}:{lineno}: {len(row)} fields, header has {len(header)}")
    x = encode_rows(header, body, columns, str(path))
    if np.isnan(x).any():
        fill = preprocess.get("fill")
        if fill is None:
            raise DataError(
                f"{path}: empty or NA cells, and the model was trained without "
                "data.missing: mean, so there is nothing to fill them with"
            )
        x = np.where(np.isnan(x), np.asarray(fill)[None, :], x)
    return x.astype(np.float32)


def _has_header(path: Path, columns: list[dict[str, Any]] | None) -> bool:
    if not columns:
        return False
    with path.open(encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    names = {c["name"] for c in columns}
    return any(cell.strip() in names for cell in first.split(","))


def load_inputs(
    path: Path,
    shape: tuple[int, ...],
    preprocess: dict[str, Any],
    columns: list[dict[str, Any]] | None = None,
) -> torch.Tensor:
    """``columns``: a CSV run's feature columns; a CSV with a header naming them is read in the
    training format (any column order, categories, missing cells), else as bare numbers."""
    if not path.is_file():
        raise DataError(f"--input: {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        x = _image(path, shape, preprocess.get("image") or None)
    elif suffix == ".npy":
        try:
            x = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read .npy: {exc}") from None
    elif suffix == ".csv" and columns and _has_header(path, columns):
        x = _table(path, columns, preprocess)
        if not np.all(np.isfinite(x)):
            raise DataError(f"{path}: the input contains NaN or inf; give finite numbers")
        return torch.from_numpy(np.ascontiguousarray(apply_scaler(preprocess, x)))
    elif suffix == ".csv":
        try:
            with warnings.catch_warnings():  # an empty file warns, then is reported below
                warnings.simplefilter("ignore")
                x = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
        except ValueError as exc:
            raise DataError(
                f"{path}: expected numeric CSV rows without a header: {str(exc)[:160]}"
            ) from None
    else:
        raise DataError(
            f"--input: {path}: use a .npy, .csv or image file ({', '.join(IMAGE_SUFFIXES)})"
        )
    per_sample = math.prod(shape)
    if x.size == 0:
        raise DataError(f"{path}: no values to predict on (the file is empty)")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: the input contains NaN or inf; give finite numbers")
    if x.size % per_sample:
        raise DataError(f"{path}: {x.shape} does not split into records of shape {shape}")
    x = x.reshape(-1, *shape)
    return torch.from_numpy(np.ascontiguousarray(apply_scaler(preprocess, x)))
