"""Read new inputs for ``hone predict --input``: .npy, .csv or an image, transformed exactly as
the training data was (shape, pixel scale, the scaler fitted on the training split)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hone.data.images import IMAGE_SUFFIXES, read_image
from hone.data.preprocess import apply_scaler
from hone.data.tabular import encode_rows, read_csv_rows
from hone.errors import DataError

__all__ = ["load_inputs"]


def _image(path: Path, shape: tuple[int, ...], image: dict[str, Any] | None) -> np.ndarray:
    """Decode like the training images: the run's grayscale/resize/mode, else fit ``shape``."""
    if len(shape) != 3:
        raise DataError(f"{path}: this model takes {shape}-shaped rows, not images")
    c, h, w = shape
    gray = bool(image["grayscale"]) if image else c == 1
    mode = str(image["resize_mode"]) if image else "stretch"
    arr = read_image(path, gray, (h, w), mode)
    return (arr.astype(np.float32) / 255.0)[None]


def _table(
    path: Path, rows: list[list[str]], columns: list[dict[str, Any]], preprocess: dict[str, Any]
) -> np.ndarray:
    """A CSV in the training format (a header naming the columns), encoded as training was."""
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


def _names_columns(first: list[str], columns: list[dict[str, Any]] | None) -> bool:
    """Whether the first row is a header naming the training columns."""
    names = {c["name"] for c in columns or []}
    return any(cell.strip() in names for cell in first)


def _numbers(path: Path, rows: list[list[str]]) -> np.ndarray:
    """Bare numeric rows, all as wide as the first."""
    if rows and any(len(r) != len(rows[0]) for r in rows):
        line = next(i for i, r in enumerate(rows, start=1) if len(r) != len(rows[0]))
        raise DataError(f"{path}:{line}: rows differ in length; give one record per row")
    try:
        return np.asarray([[float(cell) for cell in row] for row in rows], dtype=np.float32)
    except ValueError as exc:
        raise DataError(
            f"{path}: expected numeric CSV rows without a header: {str(exc)[:160]}"
        ) from None


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
    elif suffix == ".csv":
        rows = read_csv_rows(path)  # UTF-8 with or without a BOM; NUL bytes refused
        if rows and columns and _names_columns(rows[0], columns):
            x = _table(path, rows, columns, preprocess)
            if not np.all(np.isfinite(x)):
                raise DataError(f"{path}: the input contains NaN or inf; give finite numbers")
            return torch.from_numpy(np.ascontiguousarray(apply_scaler(preprocess, x)))
        x = _numbers(path, rows)
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
