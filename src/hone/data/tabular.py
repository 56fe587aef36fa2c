"""User tables: CSV with a named target column (labels may be strings) and NPZ with ``x``, ``y``."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from hone.data.base import RawData
from hone.data.paths import existing
from hone.data.task import infer_task
from hone.data.validate import check_npz_sizes
from hone.errors import DataError

__all__ = ["encode_labels", "encode_targets", "load_csv", "load_npz", "read_csv_rows"]


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
    return existing(path, "file", kind)


def encode_targets(
    values: np.ndarray | list[str], source: str, task: str, name: str = "the target"
) -> tuple[np.ndarray, list[str], str | None]:
    """Class indices and names, or float targets; ``task: auto`` decides first from the values
    (``infer_task``) and returns why, else the reason is ``None``."""
    reason = None
    if task == "auto":
        choice = infer_task(values, name, source)
        task, reason = choice.task, choice.reason
    y, classes = _encode(values, source, task)
    return y, classes, reason


def _encode(values: np.ndarray | list[str], source: str, task: str) -> tuple[np.ndarray, list[str]]:
    if task != "regression":
        return encode_labels(values, source)
    try:
        y = np.asarray(values, dtype=np.float32)
    except ValueError:
        raise DataError(f"{source}: task is regression but the target is not numeric") from None
    if not np.all(np.isfinite(y)):
        raise DataError(f"{source}: regression targets contain NaN or inf")
    return y, []


MAX_SHOWN = 20  # column names echoed in an error
MAX_CSV_BYTES = 2 * 2**30

MISSING = {"", "na", "nan", "null", "none", "?"}
NUMERIC_SHARE_TEXT = 0.1  # a column at most this share text cells is numbers with typos


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def _numbers(values: list[str]) -> np.ndarray:
    """Floats, NaN where missing; ValueError if a cell is text."""
    return np.asarray([np.nan if _is_missing(v) else float(v) for v in values], dtype=np.float64)


def _one_hot(values: list[str], cats: list[str]) -> tuple[np.ndarray, int | None]:
    """One column per category (a missing cell is a row of NaN), and the index of the first
    cell whose category is not in ``cats`` (None when every cell's is)."""
    onehot = np.zeros((len(values), len(cats)))
    for i, v in enumerate(values):
        if _is_missing(v):
            onehot[i] = np.nan
        elif v.strip() in cats:
            onehot[i, cats.index(v.strip())] = 1.0
        else:
            return onehot, i
    return onehot, None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _column(values: list[str], source: str, name: str) -> tuple[np.ndarray, list[str] | None]:
    """Numeric column -> floats (NaN where missing); otherwise one-hot over its categories.
    A column of numbers with a stray text cell or two is an error, not categories: one-hot,
    every distinct number would be a category of its own, and the feature would be lost."""
    try:
        return _numbers(values), None
    except ValueError:
        present = [(i, v) for i, v in enumerate(values) if not _is_missing(v)]
        text = [(i, v) for i, v in present if not _is_number(v)]
        if len(text) <= NUMERIC_SHARE_TEXT * len(present):
            line, cell = text[0][0] + 2, text[0][1].strip()
            others = f" (and {len(text) - 1} more)" if len(text) > 1 else ""
            raise DataError(
                f"{source}:{line}: column '{name[:40]}' holds {cell[:40]!r}{others}, but "
                f"{len(present) - len(text)} of its {len(present)} cells are numbers; correct "
                "the cell, or empty it and set data.missing to drop or mean"
            ) from None
        cats = sorted({v.strip() for v in values if not _is_missing(v)})
        return _one_hot(values, cats)[0], cats


def _plausible_header(header: list[str], body: list[list[str]]) -> bool:
    """A header worth echoing: several short, printable, distinct names, and data rows of the
    same width. A file that is not a table (a key file, /etc/passwd) never is."""
    if len(header) < 2 or len(set(header)) != len(header):
        return False
    if any(not h or len(h) > 64 or not h.isprintable() or "=" in h for h in header):
        return False
    return bool(body) and all(len(r) == len(header) for r in body)


def _columns_hint(header: list[str], body: list[list[str]]) -> str:
    if not _plausible_header(header, body):
        return (
            "the file does not look like a table with a header row (comma-separated, at least "
            "two named columns, rows as wide as the header); set data.target to its label column"
        )
    shown = ", ".join(header[:MAX_SHOWN]) + (
        f", ... ({len(header) - MAX_SHOWN} more)" if len(header) > MAX_SHOWN else ""
    )
    return f"set data.target to one of: {shown}"


_WIDE_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: 'UTF-16 (Excel\'s "Unicode Text")',
    codecs.BOM_UTF16_BE: "UTF-16",
}


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(data: bytes, source: str) -> str:
    """UTF-8, with or without the byte-order mark Excel's "CSV UTF-8" writes; any other
    encoding is an error that says which one it looks like and how to convert it."""
    for bom, name in _WIDE_BOMS.items():
        if data.startswith(bom):
            raise DataError(
                f'{source}: the file is {name}, not UTF-8; save it as "CSV UTF-8" (Excel) or '
                "convert it (iconv -f UTF-16 -t UTF-8)"
            )
    nul = data.find(b"\x00")
    if nul >= 0:
        count = data.count(b"\x00")
        bytes_ = "a NUL byte" if count == 1 else f"{count} NUL bytes"
        raise DataError(
            f"{source}:{_line_of(data, nul)}: the file contains {bytes_} (the first on this "
            "line), so it is not a text CSV; remove them, or export the table again"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1]
        try:
            bad.decode("cp1252")
            guess = 'Windows-1252 / Latin-1, what Excel\'s plain "CSV" saves'
            convert = "iconv -f WINDOWS-1252 -t UTF-8"
        except UnicodeDecodeError:
            guess, convert = "an 8-bit encoding", "iconv -f <its encoding> -t UTF-8"
        raise DataError(
            f"{source}:{_line_of(data, exc.start)}: the file is not UTF-8 (byte "
            f"0x{bad.hex()} at offset {exc.start}; it looks like {guess}); save it as "
            f'"CSV UTF-8" or convert it ({convert})'
        ) from None


def read_csv_rows(path: Path) -> list[list[str]]:
    """A CSV file's non-empty rows, read as UTF-8 (a byte-order mark is dropped, not read as
    part of the first column's name); NUL bytes and other encodings are refused."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read CSV: {exc.strerror or exc}") from None
    text = _decode(data, str(path))
    try:
        return [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    except csv.Error as exc:
        raise DataError(f"{path}: cannot read CSV: {str(exc)[:200]}") from None


def load_csv(
    path: str | None, target: str | None, task: str = "classification", missing: str = "error"
) -> RawData:
    """Numeric columns as they are, other columns one-hot encoded; ``missing`` decides what
    empty or NA cells do: ``error`` (name them), ``drop`` (the row) or ``mean`` (NaN here,
    filled with the training split's column mean after splitting)."""
    p = _require_file(path, "csv")
    if p.stat().st_size > MAX_CSV_BYTES:
        raise DataError(f"{p}: {p.stat().st_size / 2**30:.1f} GB is more than a CSV hone reads "
                        f"({MAX_CSV_BYTES // 2**30} GB); convert it to NPZ")  # fmt: skip
    rows = read_csv_rows(p)
    if len(rows) < 2:
        raise DataError(f"{p}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if target is None or target not in header:
        what = "data.target is not set" if target is None else f"no column '{target[:40]}'"
        raise DataError(f"{p}: {what}; {_columns_hint(header, rows[1:6])}")
    body = rows[1:]
    for lineno, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{p}:{lineno}: {len(row)} fields, header has {len(header)}")
    t = header.index(target)
    if missing == "error":
        for lineno, row in enumerate(body, start=2):
            for i, cell in enumerate(row):
                if _is_missing(cell):
                    raise DataError(
                        f"{p}:{lineno}: column '{header[i][:40]}' is empty or NA; set "
                        "data.missing to drop (skip such rows) or mean (fill from the training "
                        "split)"
                    )
    blocks, columns, owner = [], [], []
    for i in range(len(header)):
        if i != t:
            values, cats = _column([row[i] for row in body], str(p), header[i])
            blocks.append(values.reshape(len(body), -1))
            columns.append({"name": header[i], "categories": cats})
            owner += [header[i]] * blocks[-1].shape[1]
    with np.errstate(over="ignore"):  # a number beyond float32 becomes inf: caught below
        x = (
            np.concatenate(blocks, axis=1).astype(np.float32)
            if blocks
            else np.zeros((len(body), 0))
        )
    if np.isinf(x).any():  # "inf" parses as a number, and 1e39 overflows float32
        at_row, at_col = np.nonzero(np.isinf(x))
        line, col = int(at_row[0]) + 2, int(at_col[0])  # the header is line 1
        raise DataError(f"{p}:{line}: column '{owner[col][:40]}' is infinite (or beyond "
                        f"float32, 3.4e38); {int(np.isinf(x).sum())} such cell(s) in all; "
                        "correct them, or empty them and set data.missing")  # fmt: skip
    labels = [row[t].strip() for row in body]
    keep = np.array([not _is_missing(v) for v in labels])
    if missing == "drop":
        keep &= ~np.isnan(x).any(axis=1)
    elif not keep.all():
        raise DataError(
            f"{p}: the target '{target}' is missing in {int((~keep).sum())} row(s); "
            "set data.missing: drop"
        )
    if not keep.any():
        raise DataError(f"{p}: no rows left after dropping rows with missing values")
    x = x[keep]
    labels = [v for v, k in zip(labels, keep, strict=True) if k]
    y, classes, reason = encode_targets(labels, str(p), task, f"target '{target[:40]}'")
    return RawData(x, y, classes, columns=columns, task_reason=reason,
                   dropped=int((~keep).sum()))  # fmt: skip


def encode_rows(
    header: list[str], body: list[list[str]], columns: list[dict[str, Any]], source: str
) -> np.ndarray:
    """New CSV rows encoded as the training rows were: columns found by name (any order, extra
    columns such as the target ignored), categories one-hot in the training order, missing
    cells NaN (the caller fills them with the training means)."""
    where = {h: i for i, h in enumerate(header)}
    absent = [c["name"] for c in columns if c["name"] not in where]
    if absent:
        shown = ", ".join(absent[:MAX_SHOWN])
        raise DataError(f"{source}: missing column(s) the model was trained on: {shown}")
    blocks = []
    for column in columns:
        cells = [row[where[column["name"]]] for row in body]
        cats = column["categories"]
        if cats is None:
            try:
                blocks.append(_numbers(cells).reshape(-1, 1))
            except ValueError:
                raise DataError(
                    f"{source}: column '{column['name'][:40]}' was numeric in training; "
                    "it holds text here"
                ) from None
            continue
        onehot, unknown = _one_hot(cells, cats)
        if unknown is not None:
            known = ", ".join(cats[:MAX_SHOWN])
            raise DataError(
                f"{source}:{unknown + 2}: column '{column['name'][:40]}' has "
                f"'{cells[unknown].strip()[:40]}', a category not seen in training "
                f"(known: {known})"
            )
        blocks.append(onehot)
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(body), 0))


def load_npz(path: str | None, task: str = "classification") -> RawData:
    p = _require_file(path, "npz")
    check_npz_sizes(p)
    try:
        with np.load(p, allow_pickle=False) as npz:
            keys = list(npz.keys())
            if "x" not in keys or "y" not in keys:
                raise DataError(
                    f"{p}: needs arrays named 'x' and 'y', found "
                    + ", ".join(k[:40] for k in keys[:10])
                )
            x, y_raw = npz["x"], npz["y"]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{p}: cannot read NPZ: {exc}") from None
    if x.ndim == 0 or y_raw.ndim == 0 or len(x) != len(y_raw):
        raise DataError(f"{p}: x has shape {x.shape} but y has shape {y_raw.shape}; give one "
                        "label per row of x")  # fmt: skip
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{p}: x must hold numbers, got {x.dtype}")
    y, classes, reason = encode_targets(y_raw, str(p), task, "target y")
    return RawData(np.asarray(x, dtype=np.float32), y, classes, task_reason=reason)
