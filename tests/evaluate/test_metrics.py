"""Every metric against scikit-learn to 1e-9, on random inputs and on the edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from hone.evaluate.metrics import (
    classification_report,
    confusion_matrix,
    log_loss,
    per_class_scores,
    regression_report,
    roc_auc,
    top_k_accuracy,
)
from hone.evaluate.report import balanced_accuracy

TOL = 1e-9


def random_case(seed: int, n: int = 300, k: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    logits = torch.randn(
        n, k, generator=g, dtype=torch.float64
    ) + 1.5 * torch.nn.functional.one_hot(y, k)
    return y, logits.softmax(1)


def edge_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    y, p = random_case(1, n=60, k=4)
    never_predicted = p.clone()
    never_predicted[:, 3] = 0.0  # class 3 is never the argmax
    absent = p.clone()
    y_absent = y.clone()
    y_absent[y_absent == 2] = 0  # class 2 never occurs in y_true
    one_class = torch.zeros(20, dtype=torch.long)
    p_one = torch.rand(
        20, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    ).softmax(1)
    return [
        ("never_predicted", y, never_predicted / never_predicted.sum(1, keepdim=True)),
        ("absent_in_true", y_absent, absent),
        ("one_class", one_class, p_one),
    ]


CASES = [(f"random{s}", *random_case(s)) for s in range(3)] + edge_cases()


@pytest.mark.parametrize(("name", "y", "probs"), CASES, ids=[c[0] for c in CASES])
def test_against_scikit_learn(name: str, y: torch.Tensor, probs: torch.Tensor) -> None:
    k = probs.shape[1]
    labels = list(range(k))
    yt, pred, pn = y.numpy(), probs.argmax(1).numpy(), probs.numpy()
    cm = confusion_matrix(y, probs.argmax(1), k)
    assert cm.tolist() == skm.confusion_matrix(yt, pred, labels=labels).tolist()
    scores = per_class_scores(cm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for metric, fn in (
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
            ("f1", skm.f1_score),
        ):
            expected = fn(yt, pred, labels=labels, average=None, zero_division=0)
            np.testing.assert_allclose(scores[metric].numpy(), expected, atol=TOL)
        report = classification_report(y, probs, [str(c) for c in labels])
        for metric, fn in (
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
            ("f1", skm.f1_score),
        ):
            for avg in ("macro", "weighted", "micro"):
                expected = fn(yt, pred, labels=labels, average=avg, zero_division=0)
                assert report["average"][metric][avg] == pytest.approx(expected, abs=TOL), (
                    metric,
                    avg,
                )
        assert report["accuracy"] == pytest.approx(skm.accuracy_score(yt, pred), abs=TOL)
        assert report["balanced_accuracy"] == pytest.approx(
            skm.balanced_accuracy_score(yt, pred), abs=TOL
        )
        assert log_loss(y, probs) == pytest.approx(skm.log_loss(yt, pn, labels=labels), abs=TOL)
        for top in (1, 2, 3):
            expected = skm.top_k_accuracy_score(yt, pn, k=top, labels=labels)
            assert top_k_accuracy(y, probs, top) == pytest.approx(expected, abs=TOL)
    # Specificity = recall of "not this class".
    for c in labels:
        tn = ((yt != c) & (pred != c)).sum()
        fp = ((yt != c) & (pred == c)).sum()
        expected = tn / (tn + fp) if tn + fp else 0.0
        assert float(scores["specificity"][c]) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("seed", range(3))
def test_roc_auc_one_vs_rest_and_binary(seed: int) -> None:
    y, p = random_case(seed)
    assert roc_auc(y, p)["auc"] == pytest.approx(
        skm.roc_auc_score(y.numpy(), p.numpy(), multi_class="ovr", average="macro"), abs=TOL
    )
    g = torch.Generator().manual_seed(seed)
    yb = torch.randint(0, 2, (200,), generator=g)
    # Rounded scores create ties, which the rank-based formula must average like sklearn.
    pb = (
        (torch.rand(200, generator=g, dtype=torch.float64) * 0.5 + 0.4 * yb)
        .round(decimals=1)
        .clamp(0, 1)
    )
    probs = torch.stack([1 - pb, pb], 1)
    assert roc_auc(yb, probs)["auc"] == pytest.approx(
        skm.roc_auc_score(yb.numpy(), pb.numpy()), abs=TOL
    )


def test_roc_auc_is_nan_when_a_class_has_no_positives() -> None:
    y = torch.zeros(10, dtype=torch.long)
    assert np.isnan(roc_auc(y, torch.rand(10, 2, dtype=torch.float64))["auc"])


def regression_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    y1 = torch.randn(100, 1, generator=g, dtype=torch.float64)
    y2 = torch.randn(100, 2, generator=g, dtype=torch.float64) * torch.tensor([1.0, 50.0])
    prices = 3e5 + 4e4 * torch.randn(60, 1, generator=g, dtype=torch.float64)  # x1000 target
    return [
        ("one_column", y1, y1 + 0.3 * torch.randn(100, 1, generator=g, dtype=torch.float64)),
        ("two_columns_two_scales", y2, y2 + torch.randn(100, 2, generator=g, dtype=torch.float64)),
        ("prices", prices, prices + 6e3 * torch.randn(60, 1, generator=g, dtype=torch.float64)),
        ("worse_than_the_mean", y1, -y1),
    ]


@pytest.mark.parametrize(("name", "y", "p"), regression_cases(), ids=lambda c: str(c)[:20])
def test_regression_against_scikit_learn(name: str, y: torch.Tensor, p: torch.Tensor) -> None:
    report = regression_report(y, p)
    yn, pn = y.numpy(), p.numpy()
    for key, fn in (
        ("mse", skm.mean_squared_error),
        ("rmse", skm.root_mean_squared_error),
        ("mae", skm.mean_absolute_error),
        ("r2", skm.r2_score),
    ):
        expected = fn(yn, pn)  # uniform average over output columns
        assert report[key] == pytest.approx(expected, rel=1e-12, abs=TOL), (name, key)
    assert report["n"] == len(y)


def test_regression_edge_cases_follow_scikit_learn() -> None:
    constant = torch.ones(10, 1, dtype=torch.float64)
    assert regression_report(constant, constant)["r2"] == skm.r2_score(
        constant.numpy(), constant.numpy()
    )
    off = constant + 0.5
    assert regression_report(constant, off)["r2"] == skm.r2_score(constant.numpy(), off.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns: R² is not defined for one sample
        expected = skm.r2_score([3.0], [2.0])
    assert np.isnan(expected) and np.isnan(
        regression_report(3 * constant[:1], 2 * constant[:1])["r2"]
    )


@pytest.mark.parametrize(("name", "y", "probs"), CASES, ids=[c[0] for c in CASES])
def test_the_run_s_balanced_accuracy_equals_scikit_learn(
    name: str, y: torch.Tensor, probs: torch.Tensor
) -> None:
    predicted = probs.argmax(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns on classes it never sees
        expected = skm.balanced_accuracy_score(y.numpy(), predicted.numpy())
    assert balanced_accuracy(predicted, y) == pytest.approx(expected, abs=TOL)
