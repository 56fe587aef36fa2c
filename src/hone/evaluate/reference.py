"""What is achievable on a dataset: reference models scored on the run's own validation split.

The notes' "baseline" and "target error": a model's avoidable bias is its training error
minus the error that is achievable on the data, and a model at the data's noise floor cannot
do better. Cheap references that need no tuning, each fitted on the training split and scored
on the validation split. Without one they are cross-validated on the training split (split
``cv``): scored on its own training rows, boosting reaches 0.999 on the overlapping blobs
where nothing generalises beyond 0.86, and a run would be told it underfits:

- ``majority`` (classification: always the most common training class) or ``mean``
  (regression: always the training mean) — what a model that learned nothing scores;
- ``linear``: logistic regression (a ridge classifier on large images, where it is seconds,
  not a minute), or ridge regression, on standardised features;
- ``neighbours``: k nearest neighbours (k = 5) — no training, strong on low-dimensional data
  and on images, where trees and linear models fall short;
- ``boosting``: scikit-learn's ``HistGradientBoosting`` — strong on tabular data — on up to
  ``MAX_TABULAR_FEATURES`` features.

Fitting is bounded so the whole costs seconds: at most ``MAX_ROWS`` training rows for the
fitted models, ``MAX_BOOSTING_ROWS`` for boosting and ``MAX_NEIGHBOUR_ROWS`` for the neighbours
(random subsets, said in the result), and at most ``MAX_SCORED`` rows scored on each split.
Cross-validation takes ``CV_FOLDS`` folds while a model's folds have cost under
``CV_SECONDS`` (at least one: a fifth of the rows held out), so it costs about what one fit
does on a big table and gives every row a held-out score on a small one.
"""

from __future__ import annotations

import functools
import time
import warnings
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from hone.data.base import DataBundle

__all__ = [
    "CV_FOLDS",
    "CV_SECONDS",
    "MAX_BOOSTING_ROWS",
    "MAX_NEIGHBOUR_ROWS",
    "MAX_ROWS",
    "MAX_SCORED",
    "fit_references",
]

MAX_ROWS = 100_000  # training rows the fitted references see (a random subset beyond)
MAX_BOOSTING_ROWS = 50_000  # ... boosting (80k rows: 5 s on one core, for +0.003 accuracy)
MAX_IMAGE_ROWS = 10_000  # ... the linear model on many features
MAX_NEIGHBOUR_ROWS = 5_000  # ... the neighbours (each scored row is compared with all)
MAX_SCORED = 5_000  # validation rows scored (a random subset beyond: a wider margin)
MAX_TABULAR_FEATURES = 500  # boosting and logistic regression on more are no longer cheap
CV_FOLDS = 5  # without a validation split: folds of the training rows, each held out in turn
CV_SECONDS = 1.0  # ... taken while a model's folds so far cost less than this


def fit_references(data: DataBundle, seed: int = 0) -> dict[str, Any]:
    """The references' scores on ``data`` (accuracy for classification, R² and MSE for
    regression), with what each cost and which one is best on the scored split."""
    started = time.perf_counter()
    classification = data.task == "classification"
    x_train, y_train = _arrays(data.train.x, data.train.y)
    rng = np.random.default_rng(seed)
    held: tuple[np.ndarray, np.ndarray] | None = None
    if data.val is not None and len(data.val):
        x_eval, y_eval = _arrays(data.val.x, data.val.y)
        n_eval = len(x_eval)
        scored_rows = _subset(n_eval, MAX_SCORED, rng)
        held = x_eval[scored_rows], y_eval[scored_rows]
    split = "val" if held is not None else "cv"
    wide = x_train.shape[1] > MAX_TABULAR_FEATURES
    image = data.train.x.dim() > 2
    models: dict[str, dict[str, Any]] = {}
    candidates = [
        ("majority" if classification else "mean", MAX_ROWS),
        ("linear", MAX_IMAGE_ROWS if wide else MAX_ROWS),
        ("neighbours", MAX_NEIGHBOUR_ROWS),
    ]
    if not wide:
        candidates.append(("boosting", MAX_BOOSTING_ROWS))
    for name, limit in candidates:
        keep = _subset(len(x_train), limit, rng)
        tic = time.perf_counter()
        try:
            make = functools.partial(_make, name, classification, seed, wide, image)
            # Every row: the arrays themselves, not a copy; the majority class and the mean
            # read no features (one column keeps scikit-learn's checks, not 60,000 x 784).
            x, y = (
                (x_train, y_train) if len(keep) == len(x_train) else (x_train[keep], y_train[keep])
            )
            blind = name in ("majority", "mean")
            x = x[:, :1] if blind else x
            if held is not None:
                held_x = held[0][:, :1] if blind else held[0]
                found = _fit_scored(make, x, y, (held_x, held[1]), classification, rng)
            else:
                found = _cross_validated(make, x, y, classification, rng)
            models[name] = {**found, "rows": len(keep),
                            "seconds": round(time.perf_counter() - tic, 3)}  # fmt: skip
        except (ValueError, MemoryError) as exc:  # one class only, too little data, ...
            models[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    metric = "accuracy" if classification else "r2"
    ok = {k: v for k, v in models.items() if f"{split}_{metric}" in v}
    best = max(ok, key=lambda k: ok[k][f"{split}_{metric}"]) if ok else None
    if held is None:  # each model scored its own held-out rows: the best one's count
        n_eval = len(x_train)
        scored = int(ok[best]["scored"]) if best else 0
    else:
        scored = len(held[0])
    return {
        "task": data.task,
        "split": split,
        "scored_on": "val" if held is not None else _folds_said(ok.get(best or "", {})),
        "metric": metric,
        "models": models,
        "best": best,
        "n_train": len(x_train),
        "n_scored": scored,
        "image": image,
        "note": _note(len(x_train), n_eval, scored, models),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _fit_scored(make: Any, x: np.ndarray, y: np.ndarray, held: tuple[np.ndarray, np.ndarray],
                classification: bool, rng: np.random.Generator) -> dict[str, Any]:  # fmt: skip
    """Fitted on the training rows, scored on the validation rows (and on its own rows)."""
    model = _fit(make(), x, y)
    seen = _subset(len(x), MAX_SCORED, rng)  # the train score, estimated
    return {**_scores(model, *held, classification, "val"),
            **_scores(model, x[seen], y[seen], classification, "train")}  # fmt: skip


def _cross_validated(make: Any, x: np.ndarray, y: np.ndarray, classification: bool,
                     rng: np.random.Generator) -> dict[str, Any]:  # fmt: skip
    """Scored on training rows it was not fitted on: ``CV_FOLDS`` folds, each held out in
    turn, while they cost under ``CV_SECONDS`` (the first always)."""
    folds = min(CV_FOLDS, len(x))
    if folds < 2:
        raise ValueError(f"{len(x)} training row is too few to hold any out")
    fold_of = rng.permutation(len(x)) % folds
    true: list[np.ndarray] = []
    pred: list[np.ndarray] = []
    train_scores: list[dict[str, float]] = []
    spent = 0.0  # fitting and predicting (not the first import of scikit-learn in make)
    for fold in range(folds):
        out, model = fold_of == fold, make()
        tic = time.perf_counter()
        _fit(model, x[~out], y[~out])
        held = np.flatnonzero(out)[:MAX_SCORED]
        true.append(y[held])
        pred.append(model.predict(x[held]))
        spent += time.perf_counter() - tic
        if not train_scores:  # the train score, estimated once, on the first fold's rows
            seen = np.flatnonzero(~out)
            seen = seen[_subset(len(seen), MAX_SCORED, rng)]
            train_scores.append(_scores(model, x[seen], y[seen], classification, "train"))
        if spent >= CV_SECONDS or sum(map(len, true)) >= MAX_SCORED:
            break
    found = _scores_of(np.concatenate(true), np.concatenate(pred), classification, "cv")
    return {**found, **train_scores[0], "folds": len(true), "scored": sum(map(len, true))}


def _fit(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    # One thread: OpenMP threads that spin beside a busy core make boosting many times
    # slower, and a reference must cost seconds.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # convergence notices: the score says enough
        model.fit(x, y)
    return model


def _folds_said(best: dict[str, Any]) -> str:
    """Where the best reference was scored, in words."""
    folds = int(best.get("folds") or 0)
    if folds == CV_FOLDS:
        return f"held-out training rows ({CV_FOLDS}-fold cross-validation)"
    return f"held-out training rows ({folds} of {CV_FOLDS} folds)" if folds else "cv"


def _arrays(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rows as flat float64 features (images flattened) and the targets."""
    features = x.detach().cpu().reshape(len(x), -1).double().numpy()
    targets = y.detach().cpu().numpy()
    if np.issubdtype(targets.dtype, np.floating):  # scores in double precision
        targets = targets.astype(np.float64)
    return features, targets.reshape(len(targets), -1)[:, 0] if targets.ndim > 1 else targets


def _subset(n: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= limit else np.sort(rng.choice(n, limit, replace=False))


def _make(name: str, classification: bool, seed: int, wide: bool, image: bool) -> Any:
    # scikit-learn is imported here, when a reference is first fitted: it costs a run that is
    # never diagnosed nothing.
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "majority":
        return DummyClassifier(strategy="most_frequent")
    if name == "mean":
        return DummyRegressor(strategy="mean")
    if name == "linear":
        linear: Any = Ridge(alpha=1.0)
        if classification:  # on hundreds of features a closed-form solve, in seconds
            linear = RidgeClassifier(alpha=1.0) if wide else LogisticRegression(max_iter=300)
        return make_pipeline(StandardScaler(), linear)
    if name == "neighbours":
        knn = KNeighborsClassifier(5) if classification else KNeighborsRegressor(5)
        # Pixels are on one scale already; standardising them would weigh empty corners up.
        return knn if image else make_pipeline(StandardScaler(), knn)
    if classification:
        return HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    return HistGradientBoostingRegressor(max_iter=100, random_state=seed)


def _scores(
    model: Any, x: np.ndarray, y: np.ndarray, classification: bool, split: str
) -> dict[str, float]:
    return _scores_of(y, model.predict(x), classification, split)


def _scores_of(
    y: np.ndarray, pred: np.ndarray, classification: bool, split: str
) -> dict[str, float]:
    if classification:
        return {f"{split}_accuracy": float(np.mean(pred == y))}
    err = pred - y
    mse = float(np.mean(err**2))
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err**2)) / total if total > 0 else (1.0 if mse == 0 else 0.0)
    return {f"{split}_r2": r2, f"{split}_mse": mse}


def _note(n_train: int, n_eval: int, n_scored: int, models: dict[str, dict[str, Any]]) -> str:
    """What the references saw, when it was less than everything."""
    subsets = sorted({v["rows"] for v in models.values() if "rows" in v and v["rows"] < n_train})
    parts = [f"fitted on subsets of {', '.join(f'{r:,}' for r in subsets)} of {n_train:,} "
             "training rows"] if subsets else []  # fmt: skip
    if n_scored < n_eval:
        parts.append(f"scored on {n_scored:,} of {n_eval:,} rows")
    return "; ".join(parts)
