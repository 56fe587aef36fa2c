"""The reference models: what a model that learned nothing, a linear model, neighbours and
boosting reach on a split (or on held-out training rows when there is no validation split) —
checked against scikit-learn's own scores and known data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs, make_classification
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hone.data.base import DataBundle, Split
from hone.evaluate.reference import (
    CV_FOLDS,
    MAX_BOOSTING_ROWS,
    MAX_NEIGHBOUR_ROWS,
    MAX_SCORED,
    fit_references,
)


def _bundle(x: np.ndarray, y: np.ndarray, cut: float = 0.8, regression: bool = False) -> DataBundle:
    n = int(cut * len(x))
    tx = torch.as_tensor(x, dtype=torch.float32)
    ty = torch.as_tensor(y, dtype=torch.float32 if regression else torch.int64)
    if regression:
        ty = ty.reshape(-1, 1)
    classes = [] if regression else [str(c) for c in sorted(set(y.tolist()))]
    return DataBundle(
        train=Split(tx[:n], ty[:n]), val=Split(tx[n:], ty[n:]), test=Split(tx[n:], ty[n:]),
        classes=classes, input_shape=tuple(x.shape[1:]),
    )  # fmt: skip


def test_majority_scores_what_always_answering_the_common_class_scores() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3))
    y = (rng.random(500) < 0.8).astype(int)  # 80 % ones, labels unrelated to x
    ref = fit_references(_bundle(x, y))
    expected = (
        DummyClassifier(strategy="most_frequent").fit(x[:400], y[:400]).score(x[400:], y[400:])
    )
    assert ref["models"]["majority"]["val_accuracy"] == pytest.approx(expected, abs=1e-12)
    assert ref["task"] == "classification" and ref["split"] == "val" and ref["metric"] == "accuracy"


def test_separable_data_is_reached_by_the_best_reference() -> None:
    x, y = make_classification(600, 4, n_informative=4, n_redundant=0, class_sep=4.0,
                               random_state=0)  # fmt: skip
    ref = fit_references(_bundle(x, y))
    assert ref["best"] in ref["models"]
    assert ref["models"][ref["best"]]["val_accuracy"] >= 0.97
    assert set(ref["models"]) == {"majority", "linear", "neighbours", "boosting"}
    assert all("train_accuracy" in m and m["seconds"] >= 0 for m in ref["models"].values())


def test_a_linear_regression_target_is_explained_and_the_mean_explains_nothing() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3))
    y = x @ np.array([2.0, -1.0, 0.5]) + 0.01 * rng.normal(size=400)
    ref = fit_references(_bundle(x, y, regression=True))
    assert ref["metric"] == "r2" and ref["task"] == "regression"
    assert ref["models"]["linear"]["val_r2"] > 0.999
    y32 = y.astype(np.float32).astype(np.float64)  # the targets as the bundle holds them
    mean_r2 = r2_score(y32[320:], np.full(80, y32[:320].mean()))
    assert ref["models"]["mean"]["val_r2"] == pytest.approx(mean_r2, abs=1e-9)


def test_large_data_is_subsampled_and_the_note_says_so() -> None:
    x, y = make_classification(7000, 5, random_state=0)
    ref = fit_references(_bundle(x, y, cut=0.95))  # 6,650 training rows, 350 scored
    assert ref["models"]["neighbours"]["rows"] == MAX_NEIGHBOUR_ROWS
    assert ref["models"]["linear"]["rows"] == 6650
    assert f"{MAX_NEIGHBOUR_ROWS:,} of 6,650 training rows" in ref["note"]
    assert MAX_SCORED <= MAX_BOOSTING_ROWS  # the train score is estimated on a subset of these


def test_many_features_skip_boosting_and_one_class_is_not_an_error() -> None:
    rng = np.random.default_rng(2)
    wide = rng.normal(size=(120, 600))
    ref = fit_references(_bundle(wide, (wide[:, 0] > 0).astype(int)))
    assert "boosting" not in ref["models"]
    single = fit_references(_bundle(rng.normal(size=(50, 2)), np.zeros(50, dtype=int)))
    assert single["models"]["majority"]["val_accuracy"] == 1.0
    assert any("error" in m for m in single["models"].values())  # recorded, not raised


def _no_val(x: np.ndarray, y: np.ndarray) -> DataBundle:
    tx, ty = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
    classes = [str(c) for c in sorted(set(y.tolist()))]
    return DataBundle(train=Split(tx, ty), val=None, test=None, classes=classes,
                      input_shape=tuple(x.shape[1:]))  # fmt: skip


def test_without_a_validation_split_references_are_scored_on_held_out_training_rows() -> None:
    """The Keras-style blobs baseline splits 8:2 into train and test: no validation split.
    Scored on its own training rows, boosting memorised the overlapping clusters (0.999)
    and every run on them was told it underfits; held out, nothing beats ~0.86. Each model
    is now scored on training rows it was not fitted on, close to what it scores on rows it
    never saw (the test split)."""
    x, y = make_blobs(n_samples=1000, centers=4, n_features=2, cluster_std=2, random_state=2)
    ref = fit_references(_no_val(x[:800], y[:800]))
    assert ref["split"] == "cv" and "held-out training rows" in ref["scored_on"]
    boosting = ref["models"]["boosting"]
    assert boosting["train_accuracy"] > 0.95 and boosting["cv_accuracy"] < 0.9
    assert 1 <= boosting["folds"] <= CV_FOLDS and boosting["scored"] <= 800
    best = ref["models"][ref["best"]]["cv_accuracy"]
    linear = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[:800], y[:800])
    assert abs(best - linear.score(x[800:], y[800:])) < 0.06  # the test split's own noise
    assert ref["n_scored"] == ref["models"][ref["best"]]["scored"]


def test_majority_held_out_scores_what_the_common_class_of_the_other_folds_scores() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2))
    y = (rng.random(300) < 0.7).astype(int)
    ref = fit_references(_no_val(x, y))
    majority = ref["models"]["majority"]
    assert majority["folds"] == CV_FOLDS and majority["scored"] == 300
    # Every fold's majority is class 1 here (70 %): held out, it scores the share of ones.
    assert majority["cv_accuracy"] == pytest.approx(float(np.mean(y == 1)), abs=1e-12)


def test_one_training_row_and_no_validation_split_records_errors_not_a_crash() -> None:
    ref = fit_references(_no_val(np.zeros((1, 2)), np.zeros(1, dtype=int)))
    assert ref["best"] is None and all("error" in m for m in ref["models"].values())
