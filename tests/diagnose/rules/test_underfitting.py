"""``underfitting``: a shortfall against what is achievable, read with the settings that
can explain it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import hone
from hone.config import Config
from hone.diagnose import diagnose_run
from hone.diagnose.evidence import Evidence


def _table_run(hidden: list[int], train: float, val: float) -> Evidence:
    """Seed 27's held-out run: a 3-class table of 800 rows (160 scored), its best reference
    a neighbours model at 0.900."""
    cfg = Config().to_dict()
    cfg["model"]["hidden"] = hidden
    return Evidence(
        "r", "completed", "", cfg,
        {"train_loss": [1.0, 0.62, 0.5, 0.46, 0.45, 0.45, 0.45, 0.45],
         "val_loss": [0.98, 0.6, 0.5, 0.48, 0.47, 0.47, 0.47, 0.47]},
        {"train_accuracy": train, "val_accuracy": val},
        data={"task": "classification", "classes": ["0", "1", "2"],
              "stats": {"train": {"n": 480}, "val": {"n": 160}}},
        reference={"split": "val", "n_scored": 160,
                   "models": {"majority": {"val_accuracy": 0.3375},
                              "linear": {"val_accuracy": 0.85},
                              "neighbours": {"val_accuracy": 0.9}}},
    )  # fmt: skip


@pytest.mark.parametrize(("hidden", "bottleneck"), [([2], True), ([3], True), ([16], False)])
def test_a_bottleneck_held_near_the_reference_is_a_suspect(
    hidden: list[int], bottleneck: bool
) -> None:
    """Seed 27's held-out half: that table through a hidden layer of 2 units, at train 0.827
    and val 0.844, was called healthy: validation was within the noise of the neighbours
    model's 0.900, though the same family with a wide layer reached 0.925. The reference
    models say what simple models reach, not what a network may: a layer too narrow to carry
    the outputs is a setting known to cost fit, as strong a suspect as dropout 0.8, so a run
    held below the reference is a note that names it (``--probe`` measures it). The same
    scores from a layer of 16 units are within the data's noise: healthy."""
    found = diagnose_run(_table_run(hidden, 0.827, 0.844)).findings
    if not bottleneck:
        assert [f.code for f in found] == ["healthy"]
        return
    under = found[0]
    assert under.code == "underfitting" and under.severity == "info"
    assert under.causes[0] == "model.hidden"
    assert f"{hidden[0]} units must carry 3 outputs" in under.explanation
    top = next(p.patch for p in under.prescriptions if p.patch)
    assert min(top["model.hidden"]) > hidden[0]
    # Past the reference by its noise, the narrow layer cost nothing seen.
    assert [f.code for f in diagnose_run(_table_run(hidden, 0.97, 0.95)).findings] == ["healthy"]


def test_dropout_that_inflates_the_training_loss_is_the_cause_not_the_rate_or_the_stop() -> None:
    """Seed 27's held-out spiral run (``test_lr_too_high``'s curves): dropout 0.852 in a
    [64]x4 net, early stopping (patience 15) at epoch 18 with validation at chance since epoch
    3. It was called lr_too_high (critical), then early stopping that stopped a loss still
    falling: both read the training loss, which dropout inflated and whose inflation waned.
    The dropout is the one cause; less dropout is the fix."""
    from tests.diagnose.rules.test_lr_too_high import DROPPED_TRAIN, DROPPED_VAL

    cfg = Config().to_dict()
    cfg["model"].update(hidden=[64, 64, 64, 64], dropout=0.852)
    cfg["train"].update(loss="cross_entropy", epochs=150,
                        optimizer={"name": "adam", "lr": 0.005},
                        early_stopping={"monitor": "val_loss", "patience": 15})  # fmt: skip
    ev = Evidence(
        "r", "completed", "", cfg, {"train_loss": DROPPED_TRAIN, "val_loss": DROPPED_VAL},
        {"train_accuracy": 0.324, "val_accuracy": 0.322},
        extra={"early_stopping": {"stopped_epoch": 18, "best_value": 1.085}},
        data={"task": "classification", "classes": ["0", "1", "2"],
              "stats": {"train": {"n": 540, "class_counts": [180, 180, 180]},
                        "val": {"n": 180}}},
        reference={"split": "val", "n_scored": 180,
                   "models": {"majority": {"val_accuracy": 0.333},
                              "neighbours": {"val_accuracy": 1.0}}},
    )  # fmt: skip
    found = diagnose_run(ev).findings
    assert [f.code for f in found] == ["underfitting"]
    assert found[0].causes == ["model.dropout"] and found[0].severity == "warning"
    assert found[0].prescriptions[0].patch == {"model.dropout": 0.1}


def test_a_loss_that_strong_weight_decay_pushed_up_is_not_stopped_mid_climb(store: Path) -> None:
    """Held-out seed 31's run: AdamW with weight decay 6.77 on a 600-row regression. Its
    training loss fell to 0.057 by epoch 4, rose to 0.099 as the decay pulled the weights in,
    and was falling back (0.079) when early stopping ended it at epoch 14. Early stopping was
    blamed for stopping a model still improving, and its longer patience measured nothing;
    the same net with its usual decay ends at 0.025 val loss against 0.061."""
    result = hone.run({
        "seed": 1,
        "data": {"dataset": "regression", "task": "regression",
                 "params": {"n_samples": 600, "n_features": 8, "n_informative": 6, "noise": 10.0},
                 "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [256]},
        "train": {"optimizer": {"name": "adamw", "lr": 0.0015, "weight_decay": 6.77},
                  "epochs": 150, "batch_size": 32, "early_stopping": {"patience": 10},
                  "loss": "mse", "threads": 1},
    }, store=store)  # fmt: skip
    train = result.history["train_loss"]
    low = train.index(min(train))
    assert result.epochs_run < 30 and low < len(train) - 3 and train[-1] > 1.2 * train[low]
    assert train[-1] < train[-3]  # falling again when it stopped
    diagnosis = hone.diagnose(result.run_id, store)
    assert all("train.early_stopping" not in f.causes for f in diagnosis.findings)
    under = next(f for f in diagnosis.findings if f.code == "underfitting")
    assert under.causes[0] == "train.optimizer.weight_decay"
    assert diagnosis.findings[0].top_prescription().patch == {  # type: ignore[union-attr]
        "train.optimizer.weight_decay": 0.01
    }


def test_a_training_loss_above_chance_that_dropout_inflated_was_not_stopped_mid_climb(
    store: Path,
) -> None:
    """Held-out seed 32: dropout 0.851 in a digits CNN. Its training loss fell from 19.5 to
    2.54, still above the 2.30 of predicting class frequencies, where validation sat from the
    first epoch; early stopping (patience 5) ended it at epoch 6. Early stopping was blamed
    and dead units led with LeakyReLU, which measured nothing; the dropout came last."""
    result = hone.run({
        "seed": 3,
        "data": {"dataset": "digits", "split": "6:2:2"},
        "model": {"kind": "cnn", "conv": [{"filters": 8, "pool": "max2"},
                                          {"filters": 16, "pool": "max2"}],
                  "hidden": [32], "dropout": 0.851},
        "train": {"optimizer": {"name": "adam", "lr": 0.003}, "epochs": 40, "batch_size": 32,
                  "early_stopping": {"patience": 5}, "threads": 1},
    }, store=store)  # fmt: skip
    train, val = result.history["train_loss"], result.history["val_loss"]
    assert result.epochs_run < 10 and train[-1] < 0.9 * train[-3]  # still falling steeply
    assert train[-1] > math.log(10) > min(val) - 0.01  # above chance, as validation is
    diagnosis = hone.diagnose(result.run_id, store)
    assert all("train.early_stopping" not in f.causes for f in diagnosis.findings)
    top = diagnosis.findings[0]
    assert top.code == "underfitting" and top.causes[0] == "model.dropout"


def test_a_training_loss_bouncing_back_near_its_low_was_not_stopped_mid_climb(store: Path) -> None:
    """Held-out seed 34: AdamW with weight decay 4.72 in a [64]x4 moons net. Its training
    loss wandered between 0.19 and 0.28 for 15 epochs and had fallen 27 % over the last three,
    back to 0.202 against a low of 0.194, when early stopping ended it at epoch 26. Early
    stopping was blamed, and its longer patience measured nothing: only a new low is a
    climb that was cut short."""
    result = hone.run({
        "seed": 3,
        "data": {"dataset": "moons", "params": {"n_samples": 600, "noise": 0.2},
                 "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [64, 64, 64, 64]},
        "train": {"optimizer": {"name": "adamw", "lr": 0.005, "weight_decay": 4.72},
                  "epochs": 60, "batch_size": 32, "early_stopping": {"patience": 8},
                  "threads": 1},
    }, store=store)  # fmt: skip
    train = result.history["train_loss"]
    assert result.epochs_run < 60 and train[-1] < 0.9 * train[-3]  # a steep last fall ...
    assert min(train[:-1]) < train[-1] < 1.05 * min(train[:-1])  # ... to just above its low
    diagnosis = hone.diagnose(result.run_id, store)
    assert all("train.early_stopping" not in f.causes for f in diagnosis.findings)
    assert diagnosis.findings[0].top_prescription().patch == {  # type: ignore[union-attr]
        "train.optimizer.weight_decay": 0.01
    }


def test_a_training_loss_that_dropout_thins_was_not_stopped_mid_climb(
    store: Path, tmp_path: Path
) -> None:
    """Held-out seed 38: dropout 0.894 in a [16] net on a 3-class table of 800 rows. In
    training mode its last epoch scored 0.45 where the same rows score 0.70 with dropout off
    (the majority class 0.34), and its training loss still fell 7 % over the last epochs
    while validation had not improved for 8, when early stopping ended it at epoch 14. Early
    stopping was blamed first and its longer patience measured nothing: the training loss of
    a network thinned that much falls as it adapts to the thinning."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=800, n_features=10, n_informative=6, n_classes=3,
                               class_sep=1.5, random_state=0)  # fmt: skip
    path = tmp_path / "table.csv"
    rows = [",".join([*(f"{v:.6g}" for v in row), str(label)])
            for row, label in zip(x.astype(np.float32).tolist(), y, strict=True)]  # fmt: skip
    path.write_text("\n".join([",".join([*(f"f{i}" for i in range(10)), "label"]), *rows]))
    result = hone.run({
        "seed": 1,
        "data": {"dataset": "csv", "path": str(path), "target": "label", "split": "6:2:2",
                 "preprocess": {"scale": "standard"}},
        "model": {"hidden": [16], "dropout": 0.894},
        "train": {"optimizer": {"name": "adam", "lr": 0.005}, "epochs": 80, "batch_size": 32,
                  "early_stopping": {"patience": 8}, "threads": 1},
    }, store=store)  # fmt: skip
    train = result.history["train_loss"]
    assert result.epochs_run < 30 and train[-1] == min(train) and train[-1] < 0.95 * train[-3]
    thinned, full = result.history["train_accuracy"][-1], result.metrics["train_accuracy"]
    assert thinned - 0.34 < (full - 0.34) / 2
    diagnosis = hone.diagnose(result.run_id, store)
    assert all("train.early_stopping" not in f.causes for f in diagnosis.findings)
    top = diagnosis.findings[0]
    assert top.code == "underfitting" and top.causes[0] == "model.dropout"
    assert top.top_prescription().patch == {"model.dropout": 0.1}  # type: ignore[union-attr]


def test_a_run_of_a_few_dozen_steps_is_told_to_train_for_a_few_hundred(store: Path) -> None:
    """Held-out seed 39: a [64]x4 moons net of 2 epochs, 12 steps each, at 0.88 (the linear
    model's level) against a neighbours model's 0.99. It was told to train 4 epochs, which
    measured no difference (0.88 again); 8 epochs reach 0.96 and 16 0.99 (3 seeds each).
    Twice a run of a few dozen steps is still a few dozen: at least 200 steps (17 epochs)."""
    config = {
        "seed": 1,
        "data": {"dataset": "moons", "params": {"n_samples": 600, "noise": 0.2},
                 "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [64, 64, 64, 64]},
        "train": {"optimizer": {"name": "adam", "lr": 0.005}, "epochs": 2, "batch_size": 32,
                  "threads": 1},
    }  # fmt: skip
    result = hone.run(config, store=store)
    diagnosis = hone.diagnose(result.run_id, store)
    top = diagnosis.findings[0]
    assert top.code == "underfitting" and top.causes[0] == "train.epochs"
    assert top.top_prescription().patch == {"train.epochs": 17}  # type: ignore[union-attr]
    before, after = [], []
    for seed in (2, 3, 4):
        before.append(hone.run({**config, "seed": seed}, store=store).metrics["val_accuracy"])
        longer = {**config, "seed": seed, "train": {**config["train"], "epochs": 17}}
        after.append(hone.run(longer, store=store).metrics["val_accuracy"])
    assert min(after) > max(before) + 0.03


def test_the_keras_blobs_baseline_is_at_what_its_data_allows(tmp_path: Path) -> None:
    """``hone run`` with no config: Dense(25, relu) -> Dense(4) on the overlapping blobs,
    split 8:2 into train and test. Its references were scored on their own training rows,
    where boosting memorised them (0.999), so the run (train 0.84-0.87) was told it
    underfits and to grow to [100, 100]. Scored on held-out training rows the best reference
    reaches ~0.85: the run is at the data's noise floor."""
    result = hone.run(overrides={"train.epochs": 100}, store=str(tmp_path))
    found = hone.diagnose(result.run_id, store=str(tmp_path))
    assert [f.code for f in found.findings] == ["healthy"]
    target = found.reference["achievable"]
    assert found.reference["split"] == "cv" and target["score"] < 0.9
    assert "noise floor" in found.findings[0].explanation


MOONS = {"data": {"dataset": "moons", "params": {"n_samples": 1000, "noise": 0.25},
                  "split": "6:2:2", "preprocess": {"scale": "standard"}},
         "model": {"hidden": [32, 32], "activation": "relu"},
         "train": {"loss": "cross_entropy", "optimizer": {"name": "sgd", "lr": 0.1},
                   "batch_size": 32, "epochs": 50}}  # fmt: skip


def test_a_full_batch_of_few_steps_blames_the_batch_not_the_capacity(tmp_path: Path) -> None:
    """Moons at batch ``full``, 30 epochs of SGD: 30 steps in all, held at the linear
    model's level (val 0.865) where its curve looked flat. It was read as too little capacity
    ([128] x 3). A stretch of 30 steps is a plateau as likely as the end: the batch that made
    each epoch one step is the suspect. Measured (3 seeds each): val 0.865-0.875 as run; 200
    epochs 0.89-0.915; batch 64 and 30 epochs 0.915-0.935."""
    result = hone.run(MOONS, store=str(tmp_path), overrides={"train.batch_size": "full",
                                                             "train.epochs": 30})  # fmt: skip
    under = hone.diagnose(result.run_id, store=str(tmp_path)).findings[0]
    assert under.code == "underfitting"
    assert under.causes[:2] == ["train.batch_size", "train.epochs"]
    assert under.prescriptions[0].patch == {"train.batch_size": 64}  # 10 steps an epoch
    assert "model.hidden" not in under.causes
    fixed = hone.run(MOONS, store=str(tmp_path), overrides={"train.epochs": 30,
                                                            "train.batch_size": 64})  # fmt: skip
    assert fixed.metrics["val_accuracy"] > result.metrics["val_accuracy"] + 0.03


def test_a_clip_that_cuts_every_sgd_step_is_the_cause_not_the_rate(tmp_path: Path) -> None:
    """Moons, SGD at 0.1 with ``grad_clip: {norm: 0.001}``: every step is cut to 1e-4 long,
    so the weights moved 7e-6 of their size a step and val accuracy stayed at 0.675. It was
    read as ``lr_too_low``, prescribing lr 0.3 (steps of 3e-4: still far too short). The
    recorded gradient norms, taken after clipping, sit at the clip's value on every sample:
    the clip is the cause, and a clip of 1 restores the steps."""
    result = hone.run(MOONS, store=str(tmp_path),
                      overrides={"train.grad_clip": {"norm": 0.001}})  # fmt: skip
    found = hone.diagnose(result.run_id, store=str(tmp_path)).findings
    assert found[0].code == "underfitting" and found[0].causes[0] == "train.grad_clip"
    assert found[0].prescriptions[0].patch == {"train.grad_clip": {"norm": 1.0}}
    assert "lr_too_low" not in [f.code for f in found]
    fixed = hone.run(MOONS, store=str(tmp_path), overrides={"train.grad_clip": {"norm": 1.0}})
    assert fixed.metrics["val_accuracy"] > result.metrics["val_accuracy"] + 0.1


@pytest.mark.parametrize("seed", [0, 1])  # seed 1: its loss bounced, read as a rate too high
def test_batch_norm_over_batches_of_two_is_the_cause_not_the_activation(
    tmp_path: Path, seed: int
) -> None:
    """Moons, [32, 32] with batch normalisation at batch 2 for 10 epochs: val 0.825, read
    as vanishing gradients in ReLU layers (LeakyReLU first) and underfitting for capacity.
    Two rows normalise to -1 and +1 whatever their values: the batch statistics are noise.
    Layer normalisation needs none; its probe gained 0.07 [0.05, 0.09] on 3 fresh seeds."""
    cfg = {**MOONS, "model": {"hidden": [32, 32], "norm": "batch"}}
    result = hone.run(cfg, store=str(tmp_path), seed=seed, overrides={
        "train.batch_size": 2, "train.epochs": 10, "train.optimizer": {"name": "adam",
                                                                       "lr": 0.01}})  # fmt: skip
    found = hone.diagnose(result.run_id, store=str(tmp_path)).findings
    assert found[0].causes[0] == "model.norm"
    assert found[0].prescriptions[0].patch == {"model.norm": "layer"}
    assert all(f.causes[0] == "model.norm" for f in found if f.code == "underfitting")
    assert "lr_too_high" not in [f.code for f in found]  # batch statistics shake the loss


def test_class_weights_that_favour_one_balanced_class_are_the_cause(tmp_path: Path) -> None:
    """The Keras blobs (balanced, 6:2:2) with class 0 weighted 20: val accuracy 0.775 where
    the data allows 0.86, read as too little capacity ([100, 100]). The weights give class 0
    20x the loss share of each other class, so the model trades their accuracy for its;
    without them the probe gained 0.08 [0.03, 0.13] on 3 fresh seeds."""
    result = hone.run(store=str(tmp_path), overrides={
        "train.epochs": 100, "data.split": "6:2:2",
        "train.class_weight": {"0": 20}})  # fmt: skip
    under = hone.diagnose(result.run_id, store=str(tmp_path)).findings[0]
    assert under.code == "underfitting" and under.causes == ["train.class_weight"]
    assert under.prescriptions[0].patch == {"train.class_weight": None}


def test_a_sigmoid_output_on_standardised_targets_is_the_cause_and_not_memorising(
    tmp_path: Path,
) -> None:
    """A [64, 64] regression net with ``output_activation: sigmoid``: every prediction in
    (0, 1) where the standardised targets are negative half the time. Train R² -0.90, val
    -1.04: read as too little capacity, and as overfitting by the R² gap of two poor
    scores. The output is the cause (its probe cut val MSE from 0.56 to about 0.02), and a
    model no better than the mean has memorised nothing."""
    cfg = {"data": {"dataset": "regression", "params": {"n_samples": 1000, "n_features": 4,
                                                        "noise": 10},
                    "split": "6:2:2", "preprocess": {"scale": "standard"}},
           "model": {"hidden": [64, 64], "output_activation": "sigmoid"},
           "train": {"loss": "mse", "optimizer": {"name": "adam", "lr": 0.003},
                     "epochs": 60}}  # fmt: skip
    result = hone.run(cfg, store=str(tmp_path))
    found = hone.diagnose(result.run_id, store=str(tmp_path)).findings
    assert [f.code for f in found] == ["underfitting"]
    assert found[0].causes[0] == "model.output_activation"
    assert found[0].prescriptions[0].patch == {"model.output_activation": "auto"}


def test_augmentation_noise_twice_the_inputs_spread_is_the_cause(tmp_path: Path) -> None:
    """Moons (standardised) with ``augment: {noise: 2.0}``: training rows drowned in noise
    twice their own spread, train 0.85 where 0.94 is achievable, read as dead units and too
    little capacity. Augmentation is a regulariser: strong enough, it is what stops the fit
    (on digits, rotations up to 180 and flips cost 0.50 in val accuracy, noise 3.0 left the
    CNN at chance; without them the probes gained 0.50 and 0.75)."""
    cfg = {**MOONS, "train": {**MOONS["train"], "optimizer": {"name": "adam", "lr": 0.01}}}
    result = hone.run(cfg, store=str(tmp_path), overrides={"train.augment": {"noise": 2.0}})
    found = hone.diagnose(result.run_id, store=str(tmp_path)).findings
    assert found[0].code == "underfitting" and found[0].causes == ["train.augment"]
    assert found[0].prescriptions[0].patch == {"train.augment": None}
    fixed = hone.run(cfg, store=str(tmp_path))
    assert fixed.metrics["val_accuracy"] > result.metrics["val_accuracy"] + 0.05


@pytest.mark.parametrize(
    ("model", "cause", "patch", "seed"),
    [({"hidden": [8, 8], "freeze": "all_but_head"}, "model.freeze", {"model.freeze": None}, 0),
     # seed 2: the frozen layers' steps of 0 read as a rate too low
     ({"hidden": [8, 8], "freeze": "all_but_head"}, "model.freeze", {"model.freeze": None}, 2),
     ({"hidden": [32, 32], "activation": "leaky_relu", "negative_slope": 1.0},
      "model.negative_slope", {"model.negative_slope": 0.01}, 0)],
)  # fmt: skip
def test_a_network_that_cannot_bend_is_not_short_of_capacity(
    tmp_path: Path, model: dict[str, object], cause: str, patch: dict[str, object], seed: int
) -> None:
    """Moons, Adam at 0.01: hidden layers frozen at their random start (train 0.87), or leaky
    ReLUs with negative slope 1 (the identity: one linear map, 0.85, the linear model's
    level). Both were read as too little capacity, and a bigger network frozen or linear
    the same way gains nothing; their probes confirmed training every layer (+0.075) and a
    slope of 0.01 (+0.095)."""
    cfg = {**MOONS, "model": model,
           "train": {**MOONS["train"], "optimizer": {"name": "adam", "lr": 0.01}}}  # fmt: skip
    result = hone.run(cfg, store=str(tmp_path), seed=seed)
    found = hone.diagnose(result.run_id, store=str(tmp_path)).findings
    under = found[0]
    assert under.code == "underfitting" and under.causes[0] == cause
    assert "lr_too_low" not in [f.code for f in found]
    assert under.prescriptions[0].patch == patch
    assert "model.hidden" not in under.causes
