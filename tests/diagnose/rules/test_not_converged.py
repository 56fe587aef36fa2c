"""``not_converged`` on runs too short to have a trend: the monitored loss's last epoch, or
one noisy epoch of validation loss while training loss still falls."""

from __future__ import annotations

from hone.config import Config
from hone.diagnose.evidence import Evidence
from hone.diagnose.rules.not_converged import NotConverged


def _run(train: list[float], val: list[float]) -> Evidence:
    return Evidence("r", "completed", "", Config().to_dict(),
                    {"train_loss": train, "val_loss": val},
                    {"train_accuracy": 0.91, "val_accuracy": 0.89},
                    data={"task": "classification"})  # fmt: skip


def test_one_noisy_epoch_at_the_end_of_a_short_run_is_no_turn() -> None:
    """Seed 22's miss: 4 epochs on a CSV table; validation loss 0.485, 0.345, 0.300, then
    0.311 (160 scored rows) while training loss fell 11 % in the last epoch. Called healthy;
    its twin with more epochs scores 5 points more."""
    found = NotConverged().check(_run([0.84, 0.39, 0.303, 0.268], [0.485, 0.345, 0.2997, 0.3112]))
    assert found is not None and found.causes == ["train.epochs"]
    assert found.explanation.startswith("train_loss fell 11.6% in its last epoch")


def test_a_short_run_whose_training_loss_stopped_falling_is_not_told_to_go_on() -> None:
    assert (
        NotConverged().check(_run([0.84, 0.39, 0.303, 0.302], [0.485, 0.345, 0.2997, 0.3112]))
        is None
    )
    # validation lowest two epochs before the end: that is a turn, not one noisy epoch
    assert NotConverged().check(_run([0.84, 0.39, 0.303, 0.268], [0.485, 0.30, 0.31, 0.32])) is None


def test_a_short_run_still_falling_says_so_for_its_last_epoch() -> None:
    found = NotConverged().check(_run([0.9, 0.6, 0.5], [0.9, 0.7, 0.6]))
    assert found is not None and found.explanation.startswith(
        "val_loss fell 14.3% in its last epoch"
    )
