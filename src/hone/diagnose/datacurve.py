"""More data or more tuning? Read a learning curve — validation and training error at growing
fractions of the training set — in the textbook's terms: fit ``err(n) = a * n^-b + c`` to
validation error and say whether the model underfits, more data is worth collecting, or
validation error has levelled off. Pure: the points are trained by
``hone.experiments.datacurve``."""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CurvePoint", "DataCurve", "fit_power_law", "read_curve"]

POOR_TRAIN = 0.6  # train accuracy recovers < 60 % of the way from chance: the model underfits
WORTH_IT = 0.005  # doubling the data is projected to cut val error by >= 0.5 points
GAP = 0.01  # val error above train error by more than 1 point: something to regularise


@dataclass
class CurvePoint:
    fraction: float
    n_train: int
    train_error: list[float]  # one per seed
    val_error: list[float]

    @property
    def mean_train(self) -> float:
        return statistics.fmean(self.train_error)

    @property
    def mean_val(self) -> float:
        return statistics.fmean(self.val_error)


@dataclass
class DataCurve:
    points: list[CurvePoint]
    fit: dict[str, float] | None
    verdict: str  # underfitting | more_data | plateau
    answer: str
    projected_gain_when_doubled: float | None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "points": [
                {
                    "fraction": p.fraction,
                    "n_train": p.n_train,
                    "train_error": p.train_error,
                    "val_error": p.val_error,
                    "mean_train_error": p.mean_train,
                    "mean_val_error": p.mean_val,
                }
                for p in self.points
            ],
            "fit": self.fit,
            "verdict": self.verdict,
            "answer": self.answer,
            "projected_gain_when_doubled": self.projected_gain_when_doubled,
            "evidence": self.evidence,
        }


def fit_power_law(n: list[int], err: list[float]) -> dict[str, float] | None:
    """Least-squares fit of ``a * n^-b + c`` (a >= 0, 0 <= b <= 2, 0 <= c <= 1)."""
    from scipy.optimize import curve_fit

    if len(n) < 3:
        return None
    x, y = np.asarray(n, dtype=float), np.asarray(err, dtype=float)

    def law(v: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        out: np.ndarray = a * np.power(v, -b) + c
        return out

    p0 = (max(y[0] - y[-1], 1e-3) * x[0] ** 0.5, 0.5, max(y[-1] * 0.5, 0.0))
    try:
        with warnings.catch_warnings():  # the covariance is not used; its warning is noise
            warnings.simplefilter("ignore")
            (a, b, c), _ = curve_fit(
                law, x, y, p0=p0, bounds=([0, 0, 0], [np.inf, 2, 1]), maxfev=20000
            )
    except (RuntimeError, ValueError):
        return None
    return {"a": float(a), "b": float(b), "c": float(c)}


def read_curve(points: list[CurvePoint], majority_error: float | None) -> DataCurve:
    """The textbook's answer from the measured points (the largest fraction last):
    underfitting, more data, or a plateau. ``majority_error``: the error of always guessing
    the most common training class (``None`` for regression)."""
    classification = majority_error is not None
    full = points[-1]
    ns = [p.n_train for p in points]
    fit = fit_power_law(ns, [p.mean_val for p in points])
    gain = None
    if fit is not None:
        now = fit["a"] * full.n_train ** -fit["b"] + fit["c"]
        doubled = fit["a"] * (2 * full.n_train) ** -fit["b"] + fit["c"]
        gain = now - doubled
    elif len(points) >= 2:  # no fit: extrapolate the last segment in log n
        a, b = points[-2], points[-1]
        slope = (b.mean_val - a.mean_val) / math.log(b.n_train / a.n_train)
        gain = -slope * math.log(2)
    chance = majority_error if majority_error is not None else 1.0
    train_err = full.mean_train
    evidence = {
        "train_error_at_full_data": train_err,
        "val_error_at_full_data": full.mean_val,
        "majority_class_error": chance if classification else None,
    }
    if classification and train_err > (1 - POOR_TRAIN) * chance:
        return DataCurve(
            points,
            fit,
            "underfitting",
            f"The model underfits: training error is {train_err:.3f} even on all "
            f"{full.n_train} examples. More data will not help; tune or enlarge the "
            "model first (see `hone diagnose`).",
            gain,
            evidence,
        )
    if gain is not None and gain >= WORTH_IT:
        return DataCurve(
            points,
            fit,
            "more_data",
            f"Training error is low ({train_err:.3f}) and validation error "
            f"({full.mean_val:.3f}) is still falling as data grows: doubling the "
            f"training set is projected to cut it by {gain:.3f} (to "
            f"{full.mean_val - gain:.3f}). Collecting more data is worth it.",
            gain,
            evidence,
        )
    return DataCurve(
        points,
        fit,
        "plateau",
        f"Validation error has levelled off at {full.mean_val:.3f}"
        + (f" (projected gain from doubling the data: {gain:.3f})" if gain is not None else "")
        + ". More of the same data will help little; "
        + (
            f"the gap to training error ({train_err:.3f}) is for regularisation or a better "
            "model to close."
            if full.mean_val - train_err > GAP
            else f"validation error is no higher than training error ({train_err:.3f}), so "
            "there is no overfitting to regularise: a better model (more capacity, better "
            "features) is what lowers both."
        ),
        gain,
        evidence,
    )
