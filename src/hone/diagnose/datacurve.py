"""More data or more tuning? Read a learning curve — validation and training error at growing
fractions of the training set — in the textbook's terms: say whether the model underfits
(or was not trained long enough), more data is worth collecting, or validation error has
levelled off. Pure: the points are trained by ``hone.experiments.datacurve``.

The gain from doubling the data is projected from the curve's last segment (its fall per
doubling, measured), and ``err(n) = a * n^-b + c`` is fitted to describe the curve. "More
data" is said only when the projected gain clears the curve's own noise: the points are
resampled (their seeds, and the validation rows, the same rows for every point since they
share the split) and the low end of the gain's 90 % interval must reach half of
``WORTH_IT``. On a small validation split a curve's last points differ by more than doubling
the data would change: the Keras blobs baseline (160 validation rows) projected -0.013 to
0.019 over five seeds, every interval reaching below zero, where doubling its 640 rows cut
the error on 20,000 fresh rows by 0.002 (measured).

A regression's error is its loss, on the target's own scale (an MSE of 21,000 in units
squared): it is projected to fall by a factor per doubling (a power law, never below zero;
a straight line in log n projected a cut five times the error left), and more data is
worth it when doubling cuts it by ``WORTH_IT_SHARE`` of itself.
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hone.notebook import curve_html

__all__ = [
    "SURE",
    "WORTH_IT",
    "WORTH_IT_SHARE",
    "CurvePoint",
    "DataCurve",
    "fit_power_law",
    "gain_interval",
    "last_doubling",
    "read_curve",
    "under_trained",
]

POOR_TRAIN = 0.6  # train accuracy recovers < 60 % of the way from chance: the model underfits
WORTH_IT = 0.005  # doubling the data is projected to cut val error by >= 0.5 points
GAP = 0.01  # val error above train error by more than 1 point: something to regularise
LEVEL = 0.9  # the projected gain's interval ...
SURE = WORTH_IT / 2  # ... whose low end must reach half of what is worth it
WORTH_IT_SHARE = 0.05  # a regression: doubling the data cuts its loss by >= 5 %
# Training error falling by at least this share of validation error's fall, from the smallest
# fraction to all the data: the larger fractions' extra steps, not their data, made the curve.
STEPS_SHARE = 0.5
DRAWS = 200  # bootstrap resamples of the curve


@dataclass
class CurvePoint:
    fraction: float
    n_train: int
    train_error: list[float]  # one per seed
    val_error: list[float]
    # Per seed, each validation row's error (0/1 misclassified, or its loss), for the gain's
    # interval; not written to JSON (the validation split can be large).
    val_rows: list[list[float]] | None = field(default=None, repr=False)

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
    gain_interval: tuple[float, float] | None = None  # LEVEL interval, from resampling

    def __repr__(self) -> str:
        sizes = ", ".join(f"{p.n_train:,}" for p in self.points)
        return f"DataCurve({self.verdict}; {len(self.points)} points: {sizes} rows)"

    def _repr_html_(self) -> str:
        return curve_html(self)

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
            "projected_gain_interval": list(self.gain_interval) if self.gain_interval else None,
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


def last_doubling(ns: list[int], errors: list[float], loss: bool = False) -> float | None:
    """How much the last segment of the curve cut the error per doubling of the rows (in
    log n): the cut projected from doubling the largest, which is measured. The power-law
    fit's offset, fitted to a few noisy points, bends the curve flat too soon: on five MNIST
    and Fashion-MNIST curves it projected 0.004-0.030 where doubling the rows measured
    0.008-0.058 on the test set, and the last segment 0.010-0.049
    (``benchmarks/datacurve_truth.py``). The fit stays, to describe the curve. A ``loss``
    (a regression's) falls by the segment's factor per doubling instead."""
    if len(ns) < 2 or ns[-1] <= ns[-2]:
        return None
    doublings = math.log(ns[-1] / ns[-2]) / math.log(2)
    if loss:
        if not (errors[-1] > 0 and errors[-2] > 0):
            return None
        return float(errors[-1] * (1 - (errors[-1] / errors[-2]) ** (1 / doublings)))
    return -(errors[-1] - errors[-2]) / doublings


def gain_interval(
    points: list[CurvePoint],
    draws: int = DRAWS,
    seed: int = 0,
    level: float = LEVEL,
    loss: bool = False,
) -> tuple[float, float] | None:
    """The projected gain's ``level`` interval by bootstrap: each draw resamples every
    point's seeds and the validation rows (the same rows for all points: they share the
    split) and measures the last segment again. ``None`` where nothing can be resampled (one
    seed, no row errors)."""
    rows = _row_errors(points)  # (seeds, rows) per point, or None: the seeds alone
    n_rows = rows[0].shape[1] if rows else 0
    if len(points) < 2 or not (n_rows > 1 or any(len(p.val_error) > 1 for p in points)):
        return None
    rng = np.random.default_rng(seed)
    ns = [p.n_train for p in points]
    gains = []
    for _ in range(draws):
        if rows and n_rows > 1:
            weights = np.bincount(rng.integers(0, n_rows, n_rows), minlength=n_rows) / n_rows
            seeds = [r @ weights for r in rows]  # each seed's error on the resampled rows
        else:
            seeds = [np.asarray(p.val_error) for p in points]
        means = [float(e[rng.integers(0, len(e), len(e))].mean()) for e in seeds]
        gain = last_doubling(ns, means, loss)
        if gain is not None and math.isfinite(gain):
            gains.append(gain)
    if len(gains) < draws // 2:
        return None
    low, high = np.quantile(gains, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def _row_errors(points: list[CurvePoint]) -> list[np.ndarray] | None:
    """Every point's (seeds, validation rows) errors, where every point has them for the
    same rows; else ``None``."""
    rows = [np.asarray(p.val_rows, dtype=float) for p in points if p.val_rows]
    if len(rows) < len(points) or any(r.ndim != 2 for r in rows):
        return None
    return rows if len({r.shape[1] for r in rows}) == 1 else None


def under_trained(first: CurvePoint, full: CurvePoint) -> bool:
    """A model trained to the end errs less on fewer training examples (it can fit them
    better), so its training error rises or holds as data grows. Training error that falls
    with the data, by at least ``STEPS_SHARE`` of validation error's fall, is the steps each
    larger fraction adds: the smaller points stopped before they were trained."""
    fall_train = first.mean_train - full.mean_train
    return fall_train > GAP and fall_train >= STEPS_SHARE * (first.mean_val - full.mean_val)


def _n(value: float) -> str:
    """An error in prose: 3 decimals for rates and small losses, whole for big losses."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}"


def _fit(ns: list[int], errors: list[float], loss: bool) -> dict[str, float] | None:
    """The power law, fitted to a loss in units of its largest value (the fit bounds its
    offset to [0, 1], an error rate's range)."""
    scale = max(errors) if loss and errors and max(errors) > 0 else 1.0
    fit = fit_power_law(ns, [e / scale for e in errors])
    return fit and {"a": fit["a"] * scale, "b": fit["b"], "c": fit["c"] * scale}


def read_curve(points: list[CurvePoint], majority_error: float | None) -> DataCurve:
    """The textbook's answer from the measured points (the largest fraction last, at least
    two): underfitting, more data, or a plateau. ``majority_error``: the error of always
    guessing the most common training class (``None`` for regression, whose error is its
    loss)."""
    if len(points) < 2:
        raise ValueError("a data curve needs at least 2 fractions of the data to read a trend")
    classification = majority_error is not None
    loss = not classification
    full = points[-1]
    ns, errors = [p.n_train for p in points], [p.mean_val for p in points]
    worth = WORTH_IT_SHARE * full.mean_val if loss else WORTH_IT
    fit, gain = _fit(ns, errors, loss), last_doubling(ns, errors, loss)
    interval = gain_interval(points, loss=loss) if gain is not None and gain >= worth else None
    chance = majority_error if majority_error is not None else 1.0
    train_err = full.mean_train
    evidence = {
        "train_error_at_full_data": train_err,
        "val_error_at_full_data": full.mean_val,
        "majority_class_error": chance if classification else None,
    }

    def curve(verdict: str, answer: str) -> DataCurve:
        return DataCurve(points, fit, verdict, answer, gain, evidence, interval)

    if classification and train_err > (1 - POOR_TRAIN) * chance:
        return curve(
            "underfitting",
            f"The model underfits: training error is {_n(train_err)} even on all "
            f"{full.n_train} examples. More data will not help; tune or enlarge the "
            "model first (see `hone diagnose`).",
        )
    first = points[0]
    if under_trained(first, full):
        evidence["under_trained"] = True
        return curve(
            "underfitting",
            f"Training error falls with the data as validation error does ({_n(first.mean_train)} "
            f"on {first.n_train:,} examples, {_n(train_err)} on {full.n_train:,}; validation "
            f"{_n(first.mean_val)} to {_n(full.mean_val)}): every fraction trains the same "
            "epochs, so the larger ones trained more steps, and this curve measures training "
            "time as much as data. Train longer (train.epochs) until training error stops "
            "falling, then run the curve again."
            + (
                f" Doubling the data projects {_n(gain)} here, part of it the steps it adds."
                if gain is not None and gain >= worth
                else ""
            ),
        )
    low, high = interval or (math.nan, math.nan)
    spread = f"{LEVEL * 100:.0f} % interval {_n(low)} to {_n(high)}"
    if gain is not None and gain >= worth and (interval is None or interval[0] >= worth / 2):
        return curve(
            "more_data",
            f"Training error is low ({_n(train_err)}) and validation error "
            f"({_n(full.mean_val)}) is still falling as data grows: doubling the "
            f"training set is projected to cut it by {_n(gain)}"
            + (f" ({spread})" if interval else "")
            + f", to {_n(full.mean_val - gain)}. Collecting more data is worth it.",
        )
    return curve("plateau", _plateau(full, gain, spread if interval else None, loss))


def _plateau(full: CurvePoint, gain: float | None, spread: str | None, loss: bool) -> str:
    """The answer when more of the same data will help little (``spread``: the projected
    gain's interval, where the curve's noise is known)."""
    train_err = full.mean_train
    projected = ""
    if gain is not None:
        within = f", {spread}" if spread else ""
        projected = f" (projected gain from doubling the data: {_n(gain)}{within})"
    noise = (
        " The projection is within this curve's noise: more seeds (--seeds) or a larger "
        "validation split would tell a small gain from none."
        if spread is not None
        else ""
    )
    return (
        f"Validation error has levelled off at {_n(full.mean_val)}{projected}.{noise} More of "
        "the same data will help little; "
        + (
            f"the gap to training error ({_n(train_err)}) is for regularisation or a better "
            "model to close."
            if full.mean_val - train_err > GAP * (full.mean_val if loss else 1)
            else f"validation error is no higher than training error ({_n(train_err)}), so "
            "there is no overfitting to regularise: a better model (more capacity, better "
            "features) is what lowers both."
        )
    )
