"""``data.task: auto``: classification or regression, decided from the target's values.

The reasoning is scikit-learn's ``type_of_target``: text and booleans are labels; numbers with a
fractional part are measurements (regression); whole numbers are labels when there are few of
them. Whole numbers with many distinct values (counts, years, ids, prices in whole units) could
be either, so hone asks rather than guessing: a wrong guess trains a 300-class classifier on a
price column, or a regression on class codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hone.data.validate import MIN_ROWS
from hone.errors import DataError

__all__ = ["MIN_ROWS_PER_CLASS", "TaskChoice", "infer_task"]

# Whole-number targets are classes only with at least this many rows per distinct value on
# average (equivalently: at most 20 % of the rows hold a distinct value).
MIN_ROWS_PER_CLASS = 5
SHOWN_VALUES = 4


@dataclass(frozen=True)
class TaskChoice:
    """What ``data.task: auto`` decided, and why, in a line a user reads."""

    task: str  # classification | regression
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"task": self.task, "reason": self.reason}


def _shown(values: np.ndarray) -> str:
    """A few of the distinct values, as the user wrote them: ``0, 1`` or ``1, 2, 3, ... 9``."""
    text = [str(int(v)) if float(v).is_integer() else f"{v:.10g}" for v in values.tolist()]
    if len(text) <= SHOWN_VALUES:
        return ", ".join(text)
    return ", ".join(text[: SHOWN_VALUES - 1]) + f", ... {text[-1]}"


def _numbers(values: np.ndarray) -> np.ndarray | None:
    """The values as float64, or ``None`` when some are text."""
    if values.dtype.kind in "iuf":
        return values.astype(np.float64)
    if values.dtype.kind not in "USO":
        return None
    try:
        return np.asarray([float(str(v)) for v in values.reshape(-1)]).reshape(values.shape)
    except ValueError:
        return None


def infer_task(values: Any, name: str, source: str) -> TaskChoice:
    """Classification or regression for the target ``values`` (one per row; a 2-D array is
    one column per output), named ``name`` (``target 'price'``) in the reason and, after the
    file ``source``, in errors."""
    arr = np.asarray(values)
    if arr.ndim == 0 or len(arr) == 0:
        raise DataError(f"{source}: {name} has no values")
    if len(arr) < MIN_ROWS:  # too few to judge, or to train on: the same words as check_raw
        raise DataError(
            f"{source}: {len(arr)} row(s); hone needs at least {MIN_ROWS} to split into "
            "training and test data and learn anything"
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.dtype.kind == "b":
        return TaskChoice("classification", f"{name} holds booleans")
    numbers = _numbers(arr)
    if numbers is None:
        if arr.ndim != 1:
            raise DataError(f"{source}: {name} is text in {arr.shape[1]} columns; give one column")
        classes = len(np.unique(arr.astype(str)))
        return TaskChoice("classification", f"{name} holds text: {classes} classes")
    bad = ~np.isfinite(numbers)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(numbers), -1).any(1))
        raise DataError(
            f"{source}: {name} is NaN or infinite in {len(rows)} row(s) (first: row {rows[0]}); "
            "clean those rows (a CSV's empty or NA cells: data.missing: drop)"
        )
    if numbers.ndim > 1:
        columns = int(np.prod(numbers.shape[1:]))
        return TaskChoice("regression", f"{name} has {columns} numeric columns (one output each)")
    distinct = np.unique(numbers)
    k, n = len(distinct), len(numbers)
    if k == 1:
        raise DataError(
            f"{source}: {name} holds the same value ({_shown(distinct)}) in all {n} rows: there is "
            "nothing to predict; choose another target column"
        )
    if not np.all(distinct == np.round(distinct)):
        return TaskChoice("regression", f"{name} is continuous, {k} distinct values")
    if k == 2:
        return TaskChoice(
            "classification", f"{name} has 2 values ({_shown(distinct)}): binary classification"
        )
    if n < MIN_ROWS_PER_CLASS * k:
        raise DataError(
            f"{source}: {name} holds whole numbers with {k} distinct values in {n} rows: too "
            f"many to be classes (fewer than {MIN_ROWS_PER_CLASS} rows per class), yet they "
            "could be counts or codes, so data.task: auto cannot decide. Set data.task: "
            f"regression (predict the number) or data.task: classification ({k} classes)"
        )
    return TaskChoice(
        "classification",
        f"{name} has {k} whole-number values ({_shown(distinct)}), {n / k:.0f} rows each on "
        "average",
    )
