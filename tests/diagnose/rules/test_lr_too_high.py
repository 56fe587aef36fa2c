"""``lr_too_high`` on evidence as a run records it: a loss that never settles after its
descent, and a loss that climbs because a penalty wins (which is not the learning rate)."""

from __future__ import annotations

from typing import Any

import pytest

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


# Generator seed 24's one prescription that verified worse: a [64]x4 regression net, Adam at
# lr 0.0015, L2 of 2.86. The data loss climbed in 9 of 12 epochs while the penalty, 176x
# the data loss, fell: the objective fell in every epoch. Called lr_too_high, the smaller
# rate it prescribed made validation worse.
DATA_LOSS = [1.7809, 0.7693, 0.6228, 0.6361, 0.6643, 0.7017, 0.742, 0.7805, 0.8229, 0.8598,
             0.8953, 0.925, 0.9467]  # fmt: skip
PENALTY = [696.7, 609.34, 533.15, 467.65, 411.6, 363.57, 322.25, 286.59, 255.69, 228.82,
           205.4, 184.91, 166.94]  # fmt: skip


def _penalised(penalty: list[float]) -> Evidence:
    cfg = load_config(Config(), {"train.optimizer": {"name": "adam", "lr": 0.0015},
                                 "train.loss": "mse", "train.l2": 2.86})  # fmt: skip
    history = {"train_loss": DATA_LOSS, "train_penalty": penalty}
    return Evidence("r", "completed", "", cfg.to_dict(), history, {"train_r2": 0.4},
                    data={"task": "regression"})  # fmt: skip


def test_a_data_loss_that_climbs_while_the_objective_falls_is_the_penalty_not_the_rate() -> None:
    assert LrTooHigh().check(_penalised(PENALTY)) is None


def test_the_same_climb_with_the_objective_climbing_too_is_the_rate() -> None:
    small = [0.001] * len(DATA_LOSS)  # the penalty adds nothing: the objective bounces
    found = LrTooHigh().check(_penalised(small))
    assert found is not None and "train.optimizer.lr" in found.causes


def test_a_run_whose_l2_outweighs_the_data_is_underfitting_by_its_l2(store: Any) -> None:
    import hone

    cfg = {"data": {"dataset": "regression", "params": {"n_samples": 600, "n_features": 8,
                                                        "n_informative": 6, "noise": 10.0},
                    "split": "6:2:2", "preprocess": {"scale": "standard"}},
           "model": {"hidden": [64, 64, 64, 64]},
           "train": {"optimizer": {"name": "adam", "lr": 0.0015}, "epochs": 150,
                     "batch_size": 32, "early_stopping": {"patience": 10}, "loss": "mse",
                     "l2": 2.86}}  # fmt: skip
    result = hone.run(cfg, store=str(store), seed=1)
    codes = {f.code: f for f in hone.diagnose(result.run_id, store=str(store)).findings}
    assert "lr_too_high" not in codes
    assert codes["underfitting"].causes[0] == "train.l2"


# Generator seed 27's held-out spiral run: a [64]x4 ReLU net with dropout 0.852, Adam at lr
# 0.005. Measured with dropout on, the training loss started at 25.5 and sat above twice the
# validation loss for 10 of 18 epochs; the same weights, dropout off, scored about 1.1 (the
# loss of predicting class frequencies) from the second epoch on. Called lr_too_high
# (critical), the smaller rate it prescribed changed nothing; less dropout gained 0.67.
DROPPED_TRAIN = [25.541, 16.897, 13.547, 7.795, 6.801, 5.354, 4.03, 3.439, 2.868, 2.275, 1.609,
                 1.741, 1.746, 1.387, 1.372, 1.368, 1.289, 1.27]  # fmt: skip
DROPPED_VAL = [1.164, 1.113, 1.085, 1.091, 1.097, 1.101, 1.101, 1.101, 1.102, 1.104, 1.105,
               1.104, 1.103, 1.102, 1.102, 1.102, 1.103, 1.102]  # fmt: skip


def _dropped(dropout: float, train_loss: list[float]) -> Evidence:
    cfg = load_config(Config(), {"train.optimizer": {"name": "adam", "lr": 0.005},
                                 "train.loss": "cross_entropy", "model.dropout": dropout,
                                 "model.hidden": [64, 64, 64, 64]})  # fmt: skip
    return Evidence(
        "r", "completed", "", cfg.to_dict(),
        {"train_loss": train_loss, "val_loss": DROPPED_VAL[: len(train_loss)]},
        {"train_accuracy": 0.324, "val_accuracy": 0.322},
        data={"task": "classification", "stats": {"train": {"n": 540,
                                                            "class_counts": [180, 180, 180]}}},
    )  # fmt: skip


def test_a_training_loss_that_dropout_inflates_is_not_a_rate_too_high() -> None:
    assert LrTooHigh().check(_dropped(0.852, DROPPED_TRAIN)) is None
    # The same curves without strong dropout: the weights threw the loss, at 23x chance.
    found = LrTooHigh().check(_dropped(0.2, DROPPED_TRAIN))
    assert found is not None and found.severity == "critical"
    # Dropout or not, one thrown first epoch that then sits at chance is the rate's doing
    # (the first steps knocked the network out): the exploded loss is read as before.
    thrown = [25.541, *DROPPED_VAL[1:]]
    assert LrTooHigh().check(_dropped(0.852, thrown)) is not None


# Generator seed 28's held-out regression run: a [256] net, Adam at lr 0.847 (280x the safe
# rate), MSE on a standardised target. Its first epoch averaged 10,467 where predicting 0 for
# every row scores 1; validation R2 ended at -1.3. Read only as dead units and underfitting.
THROWN_MSE = [10466.9, 3173.9, 536.5, 250.5, 161.2, 58.0, 17.5, 10.1, 5.48, 2.16, 1.41, 1.12,
              0.695, 0.57, 0.456, 0.411, 0.374, 0.366, 0.334, 0.324, 0.307]  # fmt: skip


def _regression(train_loss: list[float], y_mean: float, y_std: float, scaled: bool) -> Evidence:
    cfg = load_config(Config(), {"train.optimizer": {"name": "adam", "lr": 0.847},
                                 "train.loss": "mse", "model.hidden": [256]})  # fmt: skip
    target = {"kind": "standard", "shift": [y_mean], "scale": [y_std]} if scaled else None
    return Evidence(
        "r", "completed", "", cfg.to_dict(), {"train_loss": train_loss}, {"train_r2": 0.81},
        data={"task": "regression", "preprocess": {"target": target},
              "stats": {"train": {"n": 360, "y_mean": [y_mean], "y_std": [y_std]}}},
    )  # fmt: skip


def test_a_regression_loss_thrown_far_above_an_untrained_network_s_is_a_rate_too_high() -> None:
    found = LrTooHigh().check(_regression(THROWN_MSE, -0.0156, 1.0035, scaled=True))
    assert found is not None and found.severity == "critical"
    assert "far above the 1 of predicting 0 for every row" in found.explanation
    # Raw targets around 100 (std 10): an untrained network's squared error is ~10,100, so
    # the same first epoch is where training starts, not a loss thrown far above it.
    assert LrTooHigh().check(_regression(THROWN_MSE, 100.0, 10.0, scaled=False)) is None


def test_a_first_epoch_dropout_lifts_while_the_network_learns_is_not_the_rate(
    store: Any,
) -> None:
    """Dropout 0.8 in a [64, 64] regression net, Adam at 0.003 (the usual rate): training
    loss 38 in its first epoch where predicting 0 scores 1, falling to 3.5 by the eighth,
    while validation (dropout off) went 1.2, 0.76, 0.66 ... 0.53. Read as an exploded loss,
    ``lr_too_high`` (critical) followed the underfitting that names the dropout. Inverted
    dropout multiplied what the units passed on by 5: only the training-mode loss soared,
    and the network learned. (A first epoch thrown with validation left at the untrained
    level stays the rate's doing: the test above.)"""
    import hone

    cfg = {"data": {"dataset": "regression", "params": {"n_samples": 1000, "n_features": 4,
                                                        "noise": 10},
                    "split": "6:2:2", "preprocess": {"scale": "standard"}},
           "model": {"hidden": [64, 64], "dropout": 0.8},
           "train": {"loss": "mse", "optimizer": {"name": "adam", "lr": 0.003},
                     "epochs": 60}}  # fmt: skip
    result = hone.run(cfg, store=str(store))
    history = hone.diagnose(result.run_id, store=str(store))
    codes = [f.code for f in history.findings]
    assert "lr_too_high" not in codes
    assert history.findings[0].code == "underfitting"
    assert history.findings[0].causes[0] == "model.dropout"


@pytest.mark.parametrize("seed", [0, 1])  # seed 1: not_converged led, blaming the epochs
def test_epochs_of_one_batch_rise_by_sampling_not_by_the_rate(store: Any, seed: int) -> None:
    """Moons with ``steps_per_epoch: 1`` (batch 32), Adam at 0.01, 40 epochs: each epoch's
    loss is one batch's, and rose in 37 % of the epochs, read as a rate too high. Averaged
    over 32 rows an epoch loss has a standard error of about a fifth of itself: the rises
    are sampling. The 40 steps in all are the run's problem, and the cap on them its cause."""
    import hone

    cfg = {"data": {"dataset": "moons", "params": {"n_samples": 1000, "noise": 0.25},
                    "split": "6:2:2", "preprocess": {"scale": "standard"}},
           "model": {"hidden": [32, 32]},
           "train": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 32,
                     "epochs": 40, "steps_per_epoch": 1}}  # fmt: skip
    result = hone.run(cfg, store=str(store), seed=seed)
    found = hone.diagnose(result.run_id, store=str(store)).findings
    assert "lr_too_high" not in [f.code for f in found]
    assert found[0].code in ("underfitting", "not_converged")
    assert found[0].causes[:2] == ["train.steps_per_epoch", "train.epochs"]
    assert found[0].prescriptions[0].patch == {"train.steps_per_epoch": None}


# Moons, [64, 64, 64] initialised from N(0, 1) under Adam at 0.01: activations grow 33x over
# three layers at the start, and the first batch's loss, before any step, was 25. The first
# epoch averaged 18.6 against the 0.69 of predicting class frequencies, read as a loss the
# rate exploded (critical); it started there. The loss bounced after, which stays a note.
BIG_INIT = [18.56, 5.934, 1.828, 1.975, 2.763, 3.4, 2.49, 2.775, 1.9, 1.2, 0.9, 0.8, 0.7, 0.6]


def _started_at(first_loss: float | None) -> Evidence:
    cfg = load_config(Config(), {"train.optimizer": {"name": "adam", "lr": 0.01},
                                 "train.loss": "cross_entropy"})  # fmt: skip
    samples = [] if first_loss is None else [{"epoch": 1, "step": 1, "loss": first_loss}]
    return Evidence(
        "r", "completed", "", cfg.to_dict(), {"train_loss": BIG_INIT}, {"train_accuracy": 0.93},
        telemetry={"samples": samples},
        data={"task": "classification", "stats": {"train": {"n": 600,
                                                            "class_counts": [300, 300]}}},
    )  # fmt: skip


def test_a_loss_that_starts_high_from_its_initialisation_did_not_explode() -> None:
    exploded = LrTooHigh().check(_started_at(None))
    assert exploded is not None and exploded.severity == "critical"
    found = LrTooHigh().check(_started_at(25.0))
    assert found is None or (found.severity != "critical" and "reached" not in found.explanation)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_a_rate_far_too_high_for_a_batch_of_one_knocks_the_network_out(
    store: Any, activation: str
) -> None:
    """A 64-64 spiral net under SGD at 0.5 with batch 1 stays at chance: each step follows
    one row's gradient, 5x SGD's usual rate for batches of ~32. Read as dead units (leaky
    ReLU as the fix, still at chance) or, with leaky ReLU, as a model too small. At batch 32
    the same rate trains to 1.0; 0.05, the rate prescribed, trains batch 1 to 0.97."""
    import hone

    cfg = {
        "data": {
            "dataset": "spiral",
            "params": {"n_samples": 1000, "classes": 3},
            "split": "6:2:2",
        },
        "model": {"hidden": [64, 64], "activation": activation},
        "train": {"optimizer": {"name": "sgd", "lr": 0.5}, "batch_size": 1, "epochs": 10},
    }
    result = hone.run(cfg, store=str(store))
    assert result.metrics["train_accuracy"] < 0.4
    found = hone.diagnose(result.run_id, store=str(store)).findings
    assert found[0].code == "lr_too_high" and found[0].severity == "critical"
    assert "0.5 at batch 1 is far above sgd's usual range" in found[0].explanation
    assert found[0].prescriptions[0].patch == {"train.optimizer.lr": 0.05}
