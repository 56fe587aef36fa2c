"""``lr_too_high`` on evidence as a run records it: a loss that never settles after its
descent, and a loss that climbs because a penalty wins (which is not the learning rate)."""

from __future__ import annotations

from typing import Any

from hone.config import Config, load_config
from hone.diagnose.evidence import Evidence
from hone.diagnose.rules.lr_too_high import LrTooHigh

# A csv run of the generated suite (Adam at lr 0.62, 3 classes, a [16] MLP): a steep descent
# from 3.3, then a loss bouncing between 0.44 and 0.75 for the rest of training.
BOUNCING = [3.329, 2.744, 1.109, 0.773, 0.621, 0.468, 0.485, 0.558, 0.618, 0.438, 0.448,
            0.459, 0.746, 0.518, 0.606, 0.49, 0.531, 0.612]  # fmt: skip
SETTLED = [3.329, 2.744, 1.109, 0.773, 0.621, 0.468, 0.455, 0.449, 0.452, 0.441, 0.444,
           0.439, 0.441, 0.436, 0.438, 0.433, 0.435, 0.431]  # fmt: skip


def _evidence(train_loss: list[float], lr: float, **train: Any) -> Evidence:
    cfg = load_config(Config(), {"train.optimizer": {"name": "adam", "lr": lr},
                                 "train.loss": "cross_entropy",
                                 **{f"train.{k}": v for k, v in train.items()}})  # fmt: skip
    return Evidence(
        "r", "completed", "", cfg.to_dict(), {"train_loss": train_loss},
        {"train_accuracy": 0.83},
        data={"task": "classification", "stats": {"train": {"n": 480,
                                                            "class_counts": [160, 160, 160]}}},
    )  # fmt: skip


def test_a_loss_that_never_settles_after_its_descent_is_a_learning_rate_too_high() -> None:
    # Against the whole curve's range (3.3 to 0.44) each bounce is small; against the loss
    # of knowing nothing (ln 3) it is not.
    found = LrTooHigh().check(_evidence(BOUNCING, 0.62))
    assert found is not None and found.severity == "warning"
    assert found.prescriptions[0].patch["train.optimizer.lr"] < 0.62


def test_a_loss_that_settles_with_small_noise_is_not() -> None:
    assert LrTooHigh().check(_evidence(SETTLED, 0.62)) is None
