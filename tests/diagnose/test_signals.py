"""Shared signals over what a real run stores: missing keys, None (JSON's null) and NaN."""

from __future__ import annotations

import math

from hone.config import Config
from hone.diagnose.evidence import Evidence
from hone.diagnose.signals import at_init_activation, dropout_thinned, sampled_epochs


def test_at_init_activation_reads_hidden_layers_with_a_finite_value() -> None:
    telemetry = {
        "at_init": {
            "hidden1.act": {"saturated": 0.75, "std": 1.0},
            "hidden2.act": {"saturated": None},  # a non-finite value, stored as null
            "hidden3.act": {"saturated": math.nan},
            "hidden4.act": {"std": 2.0},  # not measured for this layer
            "hidden5.act": None,
            "output": {"saturated": 1.0},  # the output layer is not a hidden unit
        }
    }
    assert at_init_activation(telemetry, "saturated") == {"hidden1.act": 0.75}
    assert at_init_activation(telemetry, "std") == {"hidden1.act": 1.0, "hidden4.act": 2.0}


def test_at_init_activation_without_telemetry_is_empty() -> None:
    assert at_init_activation({}, "saturated") == {}
    assert at_init_activation({"at_init": None}, "saturated") == {}


def _thinned(rate: float, in_training: float, with_dropout_off: float) -> bool:
    """A 3-class run (majority 0.34) whose last epoch scored ``in_training`` in training
    mode and whose training rows score ``with_dropout_off`` at the end."""
    cfg = Config().to_dict()
    cfg["model"]["dropout"] = rate
    ev = Evidence(
        "r", "completed", "", cfg,
        {"train_loss": [1.2, 1.1, 1.0], "val_loss": [0.9, 0.88, 0.88],
         "train_accuracy": [0.4, 0.42, in_training]},
        {"train_accuracy": with_dropout_off},
        data={"task": "classification", "classes": ["0", "1", "2"],
              "stats": {"train": {"class_counts": [163, 160, 157]}}},
    )  # fmt: skip
    return dropout_thinned(ev)


def test_dropout_thins_the_training_curve_when_training_mode_keeps_less_than_half() -> None:
    # seed 38: 0.45 in training mode, 0.70 with dropout off, the majority class 0.34
    assert _thinned(0.894, 0.446, 0.698)
    assert not _thinned(0.894, 0.62, 0.698)  # kept more than half of the gain over chance
    assert not _thinned(0.3, 0.446, 0.698)  # not strong dropout
    assert not _thinned(0.894, 0.30, 0.30)  # nothing learned with dropout off either


def _batched(batch: int | str, capped: int | None, n: int = 600) -> Evidence:
    cfg = Config().to_dict()
    cfg["train"].update(batch_size=batch, steps_per_epoch=capped)
    return Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.9]}, {},
                    data={"task": "classification", "stats": {"train": {"n": n}}})  # fmt: skip


def test_an_epoch_loss_of_few_rows_of_many_is_a_sample() -> None:
    assert sampled_epochs(_batched(32, 1))  # 32 of 600 rows an epoch
    assert sampled_epochs(_batched(32, 10))  # 320
    assert not sampled_epochs(_batched(32, 13))  # 416: a standard error under ~5 %
    assert not sampled_epochs(_batched(32, None))  # every row, every epoch
    assert not sampled_epochs(_batched("full", None))  # the whole split: no sampling at all
    assert not sampled_epochs(_batched(32, 2, n=60))  # 60 rows, all seen each epoch
