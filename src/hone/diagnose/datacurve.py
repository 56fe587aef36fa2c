"""More data or more tuning? Train on growing fractions of the training set (validation set
fixed, a few seeds each), fit ``err(n) = a * n^-b + c`` to validation error, and answer in the
textbook's terms."""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hone.config import Config
from hone.data import DataBundle, Split
from hone.data.split import split_indices
from hone.errors import ConfigError

__all__ = ["CurvePoint", "DataCurve", "data_curve", "fit_power_law"]

POOR_TRAIN = 0.6  # train accuracy recovers < 60 % of the way from chance: the model underfits
WORTH_IT = 0.005  # doubling the data is projected to cut val error by >= 0.5 points


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


def _subset(train: Split, fraction: float, seed: int) -> Split:
    if fraction >= 1.0:
        return train
    y = train.y.cpu().numpy()
    strata = y if not train.y.is_floating_point() else np.zeros(len(y), dtype=np.int64)
    stratify = not train.y.is_floating_point()
    _, _, keep = split_indices(strata, (1 - fraction, 0.0, fraction), stratify, True, seed)
    idx = torch.from_numpy(keep).to(train.x.device)
    return Split(train.x.index_select(0, idx), train.y.index_select(0, idx))


def data_curve(cfg: Config, fractions: list[float], seeds: int = 2) -> DataCurve:
    """Train ``cfg`` on each fraction of its training split with ``seeds`` seeds each."""
    from hone.api import build_run

    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ConfigError("--fractions: each fraction must be in (0, 1], e.g. 0.1,0.25,0.5,1.0")
    if seeds < 1:
        raise ConfigError("--seeds: give at least 1 seed per fraction")
    from hone.api import load_run_data

    base = load_run_data(cfg)
    if base.val is None:
        raise ConfigError("datacurve needs a validation split: set data.split.val (e.g. 0.2)")
    classification = base.task == "classification"
    points = []
    for fraction in sorted(set(fractions)):
        train_err, val_err, n_train = [], [], 0
        for s in range(seeds):
            member = cfg.model_copy(deep=True)
            member.seed = cfg.seed + s
            sub = _subset(base.train, fraction, seed=cfg.data.split.seed + s)
            n_train = len(sub)
            data = DataBundle(
                sub, base.val, base.test, base.classes, base.input_shape, base.preprocess
            )
            built = build_run(member, data)
            state = built.fit()
            if state.status == "interrupted":
                raise KeyboardInterrupt  # Ctrl-C stops the whole curve, not one point
            from hone.evaluate.predict import evaluate_split

            tr = evaluate_split(built.model, built.data.train, built.loss_fn)
            va = evaluate_split(built.model, built.data.val, built.loss_fn)  # type: ignore[arg-type]
            key = "accuracy" if classification else "loss"
            train_err.append(1 - tr[key] if classification else tr[key])
            val_err.append(1 - va[key] if classification else va[key])
        points.append(CurvePoint(fraction, n_train, train_err, val_err))
    return _verdict(points, base, classification)


def _verdict(points: list[CurvePoint], data: DataBundle, classification: bool) -> DataCurve:
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
    chance = 1.0
    if classification:
        counts = torch.bincount(data.train.y.cpu(), minlength=data.n_classes)
        chance = 1 - float(counts.max()) / float(counts.sum())  # error of the majority guess
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
        + ". More of the same data will help little; the gap to training error "
        f"({train_err:.3f}) is for regularisation or a better model to close.",
        gain,
        evidence,
    )
