"""``overfitting``'s first remedy where the split keeps most rows out of training: a patch
that trains on more of them and is itself a valid split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hone
from hone.config import Config, load_config
from hone.diagnose.evidence import Evidence
from hone.diagnose.rules.overfitting import Overfitting


def _evidence(split: dict[str, Any], rows: tuple[int, int, int]) -> Evidence:
    cfg = load_config(Config(), {"data.split": split})
    n_train, n_val, n_test = rows
    return Evidence(
        "r", "completed", "", cfg.to_dict(),
        {"train_loss": [1.0, 0.3, 0.1, 0.05, 0.02, 0.01],
         "val_loss": [1.0, 0.6, 0.5, 0.5, 0.5, 0.5]},
        {"train_accuracy": 1.0, "val_accuracy": 0.8},
        data={"task": "classification",
              "stats": {"train": {"n": n_train}, "val": {"n": n_val}, "test": {"n": n_test}}},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("split", "rows", "patch"),
    [
        # the test split takes what train and val leave: rows move from it, down to 0.2
        ({"train": 0.06, "val": 0.2}, (60, 200, 740), {"data.split.train": 0.24}),
        # an explicit test share: it shrinks by what training gains
        ({"train": 0.06, "val": 0.3, "test": 0.64}, (60, 300, 640),
         {"data.split.train": 0.24, "data.split.test": 0.46}),
        # no training share given: it is what validation and test leave
        ({"val": 0.2, "test": 0.75}, (50, 200, 750),
         {"data.split.train": 0.2, "data.split.test": 0.6}),
        # a fixed test set (MNIST): 3,000 of 60,000 training images, the rest left out
        ({"train": 0.05, "val": 0.2}, (3000, 12000, 10000), {"data.split.train": 0.2}),
    ],
)  # fmt: skip
def test_more_rows_is_first_and_a_valid_split(
    split: dict[str, Any], rows: tuple[int, int, int], patch: dict[str, float]
) -> None:
    found = Overfitting().check(_evidence(split, rows))
    assert found is not None and found.causes[0] == "data.split.train"
    assert found.prescriptions[0].patch == patch
    load_config(Config(), {"data.split": split, **patch})  # a split that validates


def test_a_usual_split_is_not_told_to_move_rows() -> None:
    found = Overfitting().check(_evidence({"train": 0.6, "val": 0.2}, (600, 200, 200)))
    assert found is not None and "data.split.train" not in found.causes


def _short_run(val_loss: list[float]) -> Evidence:
    """Seed 19's noise-floor control as the rule read it: MNIST with a quarter of its labels
    random, a 16-unit MLP for 3 epochs: train 0.687, val 0.634 against a neighbours reference
    of 0.684 on 800 validation rows (margin 0.041)."""
    ref = {
        "split": "val",
        "n_scored": 800,
        "models": {"majority": {"val_accuracy": 0.106}, "neighbours": {"val_accuracy": 0.684}},
    }
    return Evidence(
        "r", "completed", "", Config().to_dict(),
        {"train_loss": [1.9, 1.5, 1.31], "val_loss": val_loss},
        {"train_accuracy": 0.687, "val_accuracy": 0.634},
        data={"task": "classification", "stats": {"val": {"n": 800}}},
        reference=ref,
    )  # fmt: skip


def test_a_gap_while_validation_still_falls_is_a_note() -> None:
    """A gap under 0.1 while validation loss still falls steadily is not what holds the model
    back yet; more epochs move both scores. It is said at info, not as memorisation."""
    found = Overfitting().check(_short_run([1.9, 1.51, 1.444]))
    assert found is not None and found.severity == "info"
    assert "still falling" in found.explanation


def test_the_same_gap_once_validation_stalls_is_variance() -> None:
    found = Overfitting().check(_short_run([1.9, 1.45, 1.444]))  # the last epoch: under 2 %
    assert found is not None and found.severity == "warning"


def _few_rows(split: dict[str, Any], rows: tuple[int, int, int]) -> Evidence:
    """Seed 22's miss: a digits CNN trained on 87 rows (the split kept 1,350 for test), train
    1.0, val 0.919, against reference models fitted on the same 87 rows (linear 0.886)."""
    cfg = load_config(Config(), {"data.split": split})
    n_train, n_val, n_test = rows
    ref = {
        "split": "val",
        "n_scored": n_val,
        "models": {"majority": {"val_accuracy": 0.1}, "linear": {"val_accuracy": 0.886}},
    }
    return Evidence(
        "r", "completed", "", cfg.to_dict(),
        {"train_loss": [2.0, 0.5, 0.01, 1e-4, 1e-4, 1e-4],
         "val_loss": [2.0, 0.6, 0.36, 0.347, 0.348, 0.347]},
        {"train_accuracy": 1.0, "val_accuracy": 0.919},
        data={"task": "classification",
              "stats": {"train": {"n": n_train}, "val": {"n": n_val}, "test": {"n": n_test}}},
        reference=ref,
    )  # fmt: skip


def test_a_gap_where_most_rows_sit_out_of_training_is_variance() -> None:
    """The reference models fit the same few rows, so the run beats them; a gap of 0.08 (beyond
    the noise of 360 scored rows) is still variance that the spare rows would shrink."""
    found = Overfitting().check(_few_rows({"train": 0.0485, "val": 0.2}, (87, 360, 1350)))
    assert found is not None and found.severity == "warning"
    assert found.causes[0] == "data.split.train"
    assert Overfitting().check(_few_rows({"train": 0.6, "val": 0.2}, (600, 200, 200))) is None


def test_a_gap_past_the_validation_score_s_own_noise_with_rows_to_spare_is_variance(
    store: Any,
) -> None:
    """Generator seed 44's held-out spiral: 59 training rows (6.6 %), 180 validation rows and
    661 kept out, a [256, 256] net for 300 epochs: train 1.0, val 0.944, called healthy.
    The gap was weighed against the reference's noise at its own score (neighbours fitted on
    the same 59 rows: 0.856, 0.066 on 180 rows); at 0.944 the validation score's noise is
    0.043, and the twin trained on more rows reached 1.0. A gap past that noise, with most
    rows kept out of training, is variance those rows would shrink."""
    import hone

    cfg = {"seed": 1,
           "data": {"dataset": "spiral", "params": {"n_samples": 900, "classes": 3},
                    "split": {"train": 0.0656, "val": 0.2}, "preprocess": {"scale": "standard"}},
           "model": {"hidden": [256, 256]},
           "train": {"optimizer": {"name": "adam", "lr": 0.005}, "batch_size": 16,
                     "epochs": 300}}  # fmt: skip
    result = hone.run(cfg, store=str(store))
    over = hone.diagnose(result.run_id, store=str(store)).findings[0]
    assert over.code == "overfitting" and over.causes[0] == "data.split.train"
    assert over.prescriptions[0].patch["data.split.train"] > 0.0656


def _regression(train_r2: float, val_r2: float, val_loss: list[float], linear: float) -> Evidence:
    ref = {"split": "val", "n_scored": 200,
           "models": {"mean": {"val_r2": -0.0003}, "linear": {"val_r2": linear}}}  # fmt: skip
    cfg = load_config(Config(), {"data.dataset": "regression", "data.params": {}})
    return Evidence(
        "r", "completed", "", cfg.to_dict(),
        {"train_loss": [1.0, 0.1, 0.02, 0.01, 0.005, 0.004, 0.004, 0.0039, 0.0039, 0.0038],
         "val_loss": val_loss},
        {"train_r2": train_r2, "val_r2": val_r2},
        data={"task": "regression", "stats": {"val": {"n": 200}}},
        evaluation={"train": {"r2": train_r2}, "val": {"r2": val_r2}},
        reference=ref,
    )  # fmt: skip


FALLING = [1.0, 0.2, 0.09, 0.07, 0.062, 0.058, 0.056, 0.0555, 0.0552, 0.055]


def test_near_a_perfect_reference_a_few_points_of_r2_are_several_times_the_error() -> None:
    """A 64-64 net on a linear regression (measured): val R² 0.945 where a linear model
    reaches 0.990, 5.5x its error. A fixed R² margin of 0.05 called it healthy."""
    found = Overfitting().check(_regression(0.996, 0.945, FALLING, linear=0.990))
    assert found is not None and found.severity == "warning"
    assert found.evidence["achievable"]["margin"] <= 0.02
    # the same shortfall from a reference that explains less is within what is not news
    assert Overfitting().check(_regression(0.93, 0.885, FALLING, linear=0.93)) is None


def test_no_stop_is_prescribed_where_validation_loss_is_lowest_at_the_end() -> None:
    """Validation loss fell to the last epoch: stopping early keeps nothing better."""
    found = Overfitting().check(_regression(0.996, 0.945, FALLING, linear=0.990))
    assert found is not None
    assert all("train.early_stopping" not in p.patch for p in found.prescriptions)
    turned = [*FALLING[:5], 0.063, 0.064, 0.063, 0.065, 0.064]  # lowest at epoch 5
    found = Overfitting().check(_regression(0.996, 0.945, turned, linear=0.990))
    assert found is not None
    stops = [p for p in found.prescriptions if "train.early_stopping" in p.patch]
    assert stops and "epoch 5" in stops[0].why


def test_a_regression_is_prescribed_less_dropout_than_a_classifier() -> None:
    found = Overfitting().check(_regression(0.996, 0.945, FALLING, linear=0.990))
    assert found is not None
    rates = [p.patch["model.dropout"] for p in found.prescriptions if "model.dropout" in p.patch]
    assert rates == [0.1]
    classifier = Overfitting().check(_evidence({"train": 0.6, "val": 0.2}, (600, 200, 200)))
    assert classifier is not None
    assert [p.patch["model.dropout"] for p in classifier.prescriptions
            if "model.dropout" in p.patch] == [0.3]  # fmt: skip


def test_a_net_several_times_worse_than_a_linear_model_is_not_healthy(store: Path) -> None:
    """The run as measured: a 64-64 ReLU net, Adam 0.001, 60 epochs, on a linear regression
    (1,000 rows, 10 features, noise 10, 6:2:2): val R² about 0.945 where the linear reference
    reaches 0.99."""
    cfg = {
        "data": {"dataset": "regression", "split": "6:2:2", "preprocess": {"scale": "standard"},
                 "params": {"n_samples": 1000, "n_features": 10, "noise": 10}},
        "model": {"hidden": [64, 64]},
        "train": {"loss": "mse", "optimizer": {"name": "adam", "lr": 0.001}, "epochs": 60},
        "telemetry": False,
    }  # fmt: skip
    result = hone.run(cfg, store=str(store))
    diagnosis = hone.diagnose(result.run_id, store=str(store))
    codes = [f.code for f in diagnosis.findings]
    assert "healthy" not in codes and "overfitting" in codes, codes
