"""``overfitting``'s first remedy where the split keeps most rows out of training: a patch
that trains on more of them and is itself a valid split."""

from __future__ import annotations

from typing import Any

import pytest

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
