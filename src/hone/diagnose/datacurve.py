"""More data or more tuning? Train on growing fractions of the training set (validation set
fixed, a few seeds each), fit ``err(n) = a * n^-b + c`` to validation error, and answer in the
textbook's terms."""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from hone.cluster.backend import Backend
from hone.config import Config
from hone.data import DataBundle, Split
from hone.data.split import split_indices
from hone.errors import ConfigError

if TYPE_CHECKING:
    from hone.assemble import BuiltRun
    from hone.train.state import TrainState

__all__ = ["CurvePoint", "DataCurve", "data_curve", "fit_power_law"]

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


def _subset(train: Split, fraction: float, seed: int) -> Split:
    if fraction >= 1.0:
        return train
    y = train.y.cpu().numpy()
    strata = y if not train.y.is_floating_point() else np.zeros(len(y), dtype=np.int64)
    stratify = not train.y.is_floating_point()
    _, _, keep = split_indices(strata, (1 - fraction, 0.0, fraction), stratify, True, seed)
    idx = torch.from_numpy(keep).to(train.x.device)
    return Split(train.x.index_select(0, idx), train.y.index_select(0, idx))


def _built(cfg: Config, fraction: float, s: int, base: DataBundle) -> BuiltRun:
    """Seed ``cfg.seed + s``, built on its own ``fraction`` of the training split."""
    from hone.api import build_run

    member = cfg.model_copy(deep=True)
    member.seed = cfg.seed + s
    sub = _subset(base.train, fraction, seed=cfg.data.split.seed + s)
    data = DataBundle(sub, base.val, base.test, base.classes, base.input_shape, base.preprocess)
    return build_run(member, data)


def _errors(built: BuiltRun, state: TrainState) -> tuple[int, float, float]:
    """(n, train, val) error of a trained point, where error is 1 - accuracy for
    classification and the loss for regression."""
    from hone.evaluate.predict import evaluate_split

    if state.status == "interrupted":
        raise KeyboardInterrupt  # Ctrl-C stops the whole curve, not one point
    data = built.data
    if state.status == "diverged":  # its errors would read as a model that cannot learn
        epoch = state.diverged_at[0] if state.diverged_at else state.epoch
        raise ConfigError(
            f"datacurve: seed {built.config.seed} on {len(data.train)} training rows diverged "
            f"in epoch {epoch}, so the curve would measure divergence, not data; lower "
            f"train.optimizer.lr (now {built.config.train.optimizer.lr:g}) and run it again"
        )
    tr = evaluate_split(built.model, data.train, built.loss_fn)
    va = evaluate_split(built.model, data.val, built.loss_fn)  # type: ignore[arg-type]
    if data.task == "classification":
        return len(data.train), 1 - tr["accuracy"], 1 - va["accuracy"]
    return len(data.train), tr["loss"], va["loss"]


def _point(cfg: Config, fraction: float, s: int, base: DataBundle) -> tuple[int, float, float]:
    """Train seed ``cfg.seed + s`` on ``fraction`` of the training split: (n, train, val)."""
    built = _built(cfg, fraction, s, base)
    return _errors(built, built.fit())


def _stacked_points(
    cfg: Config, fraction: float, seeds: list[int], base: DataBundle
) -> list[tuple[int, float, float]]:
    """The seeds of one fraction as one stacked model, each on its own subset (the stacked
    loop's ``blocks``); raises ``NotStackable`` before training when they cannot be."""
    from hone.experiments.stacking import NotStackable, stack_runs, why_not_stacked

    built = [_built(cfg, fraction, s, base) for s in seeds]
    why = why_not_stacked([b.config for b in built])
    if why is not None:
        raise NotStackable(why)
    if len({len(b.data.train) for b in built}) > 1:
        raise NotStackable("the seeds' subsets differ in size")
    stack = stack_runs(built)
    rows = Split(torch.cat([b.data.train.x for b in built]),
                 torch.cat([b.data.train.y for b in built]))  # fmt: skip
    states = stack.fit([list(b.callbacks) for b in built], train=rows, blocks=True)
    return [_errors(b, state) for b, state in zip(built, states, strict=True)]


def _sequential(
    cfg: Config, points: list[tuple[float, int]], base: DataBundle, stack: str
) -> tuple[list[tuple[int, float, float]], str | None]:
    """Every point in this process, the seeds of each fraction stacked where they can be;
    returns the results in order and why they were not stacked (``None`` when they were)."""
    from hone.experiments.stacking import NotStackable

    results: dict[tuple[float, int], tuple[int, float, float]] = {}
    why: str | None = "stacking is off" if stack == "off" else None
    for fraction in sorted({f for f, _ in points}):
        seeds = [s for f, s in points if f == fraction]
        if why is None and len(seeds) > 1:
            try:
                for s, r in zip(seeds, _stacked_points(cfg, fraction, seeds, base), strict=True):
                    results[fraction, s] = r
                continue
            except NotStackable as exc:
                why = str(exc)
        for s in seeds:
            results[fraction, s] = _point(cfg, fraction, s, base)
    return [results[p] for p in points], why


_BASE: list[DataBundle] = []  # a --jobs worker's copy of the split data, sent once


def _keep_base(base: DataBundle) -> None:
    _BASE[:] = [base]


def _point_here(cfg: dict[str, Any], fraction: float, s: int) -> tuple[int, float, float]:
    from hone.config import load_config

    return _point(load_config(cfg), fraction, s, _BASE[0])


def _in_processes(
    cfg: Config, points: list[tuple[float, int]], base: DataBundle, jobs: int
) -> list[tuple[int, float, float]]:
    """``--jobs N`` on this machine: N processes, each with ``cores // N`` threads."""
    import os

    from hone.cluster.processes import local_pool

    threads = max(1, (os.cpu_count() or 1) // jobs)
    config = cfg.to_dict()
    config["train"] = {**config["train"], "threads": threads}
    with local_pool(jobs, _keep_base, (base,)) as pool:
        futures = [pool.submit(_point_here, config, f, s) for f, s in points]
        return [f.result() for f in futures]


def data_curve(
    cfg: Config,
    fractions: list[float],
    seeds: int = 2,
    backend: Backend | None = None,
    jobs: int | None = None,
    stack: str = "auto",
) -> DataCurve:
    """Train ``cfg`` on each fraction of its training split with ``seeds`` seeds each;
    ``backend`` ray trains the points as Ray tasks (at most ``jobs`` at once), sharing the
    split data through the object store. In one process (no ``jobs``), ``stack`` auto
    trains the seeds of each fraction as one stacked model (``evidence.stacked``), or says
    why not (``evidence.not_stacked``)."""
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ConfigError("--fractions: each fraction must be in (0, 1], e.g. 0.1,0.25,0.5,1.0")
    if seeds < 1:
        raise ConfigError("--seeds: give at least 1 seed per fraction")
    from hone.api import load_run_data

    base = load_run_data(cfg)
    if base.val is None:
        raise ConfigError("datacurve needs a validation split: set data.split.val (e.g. 0.2)")
    jobs_list = [(f, s) for f in sorted(set(fractions)) for s in range(seeds)]
    why: str | None = ""  # parallel points: stacking does not apply, nothing to say
    if backend is not None and backend.is_ray:
        from hone.cluster.ray_curve import curve_on_ray

        results = curve_on_ray(cfg, jobs_list, base, backend, jobs)
    elif jobs and jobs > 1:
        results = _in_processes(cfg, jobs_list, base, jobs)
    else:
        results, why = _sequential(cfg, jobs_list, base, stack)
    points = []
    for fraction in sorted(set(fractions)):
        mine = [r for (f, _), r in zip(jobs_list, results, strict=True) if f == fraction]
        points.append(CurvePoint(fraction, mine[0][0], [r[1] for r in mine], [r[2] for r in mine]))
    curve = _verdict(points, base, base.task == "classification")
    if seeds > 1 and why is None:
        curve.evidence["stacked"] = seeds
    elif seeds > 1 and why:
        curve.evidence["not_stacked"] = why
    return curve


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
