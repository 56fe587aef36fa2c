"""The six runs issue 21 found misdiagnosed, each built the way it was described: the cause was
a setting of the run, or the curves needed a reference to be read. Each is a real run read
through ``hone.diagnose`` (references and all), as a user would."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hone
from hone.diagnose import Diagnosis, Finding


def _diagnose(store: Path, config: dict[str, Any]) -> tuple[Any, Diagnosis]:
    result = hone.run(config, store=store)
    return result, hone.diagnose(result.run_id, store)


def _first(diagnosis: Diagnosis, code: str) -> Finding:
    found = [f for f in diagnosis.findings if f.code == code]
    assert found, f"no {code}: {[(f.code, f.causes) for f in diagnosis.findings]}"
    return found[0]


def _top_patch(diagnosis: Diagnosis) -> dict[str, Any]:
    return next(p.patch for f in diagnosis.findings for p in f.prescriptions if p.patch)


def test_early_stopping_at_chance_is_not_healthy(store: Path) -> None:
    """A 3-class spiral stopped after 2 epochs by ``patience: 1, min_delta: 0.1`` while the
    loss was still falling, at chance-level accuracy."""
    result, diagnosis = _diagnose(store, {
        "data": {"dataset": "spiral", "params": {"classes": 3, "n_samples": 600}, "split": "6:2:2"},
        "model": {"hidden": [32]},
        "train": {"epochs": 200, "optimizer": {"name": "adam", "lr": 0.001},
                  "early_stopping": {"patience": 1, "min_delta": 0.1}},
    })  # fmt: skip
    assert result.epochs_run <= 5 and result.metrics["train_accuracy"] < 0.5
    codes = [f.code for f in diagnosis.findings]
    assert "healthy" not in codes
    assert diagnosis.reference["achievable"]["score"] > 0.9  # what the data allows
    assert "train.early_stopping" in diagnosis.findings[0].causes
    assert any(k.startswith("train.early_stopping") for k in _top_patch(diagnosis))


def test_too_much_dropout_is_named_and_lowered(store: Path) -> None:
    """Moons with ``model.dropout: 0.9``: the same net without dropout reaches 0.97+; the fix
    is less dropout, not twice the epochs."""
    _, diagnosis = _diagnose(store, {
        "data": {"dataset": "moons", "params": {"noise": 0.2}, "split": "6:2:2"},
        "model": {"hidden": [32, 32], "dropout": 0.9},
        "train": {"epochs": 100, "optimizer": {"name": "adam", "lr": 0.01}},
    })  # fmt: skip
    under = _first(diagnosis, "underfitting")
    assert under.causes[0] == "model.dropout"
    assert _top_patch(diagnosis) == {"model.dropout": 0.1}
    assert not any("train.epochs" in p.patch for p in under.prescriptions[:1])


def test_a_schedule_that_kills_learning_is_the_cause_not_capacity(store: Path) -> None:
    """Adam 0.01 with ``step`` (step_size 1, gamma 0.05): below 1e-5 from epoch 4."""
    result, diagnosis = _diagnose(store, {
        "data": {"dataset": "moons", "params": {"noise": 0.2}, "split": "6:2:2"},
        "model": {"hidden": [32, 32]},
        "train": {"epochs": 60, "optimizer": {"name": "adam", "lr": 0.01},
                  "schedule": {"name": "step", "step_size": 1, "gamma": 0.05}},
    })  # fmt: skip
    assert result.history["lr"][4] < 1e-5
    under = _first(diagnosis, "underfitting")
    assert under.causes[0] == "train.schedule"
    top = _top_patch(diagnosis)
    assert "train.schedule" in top and "model.hidden" not in top


def test_regression_overfitting_is_overfitting_not_a_split_mismatch(store: Path) -> None:
    """60 training rows, 30 features, a 2x256 MLP, 400 epochs: train MSE near zero,
    validation far from it."""
    _, diagnosis = _diagnose(store, {
        "data": {"dataset": "regression", "split": {"train": 0.2, "val": 0.4, "test": 0.4},
                 "params": {"n_samples": 300, "n_features": 30, "n_informative": 30,
                            "noise": 10.0}},
        "model": {"hidden": [256, 256]},
        "train": {"loss": "mse", "epochs": 400, "optimizer": {"name": "adam", "lr": 0.001}},
    })  # fmt: skip
    codes = [f.code for f in diagnosis.findings]
    assert "overfitting" in codes and "split_mismatch" not in codes
    assert _first(diagnosis, "overfitting").evidence["train_val_r2_gap"] > 0.3


def test_a_model_at_the_noise_floor_is_healthy(store: Path, tmp_path: Path) -> None:
    """A third of the labels flipped at random (best reachable accuracy about 0.67): a small
    MLP with early stopping that reaches it is not underfitting."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1500)
    x = rng.normal(0, 1, (1500, 4)) + y[:, None] * 4.0
    noisy = np.where(rng.random(1500) < 1 / 3, 1 - y, y)
    np.savez(tmp_path / "noisy.npz", x=x.astype(np.float32), y=noisy)
    result, diagnosis = _diagnose(store, {
        "data": {"dataset": "npz", "path": str(tmp_path / "noisy.npz"), "split": "6:2:2"},
        "model": {"hidden": [16]},
        "train": {"epochs": 200, "optimizer": {"name": "adam", "lr": 0.01},
                  "early_stopping": {"patience": 10}},
    })  # fmt: skip
    assert 0.6 < result.metrics["val_accuracy"] < 0.72
    assert not [f for f in diagnosis.findings if f.severity != "info"]
    assert "underfitting" not in [f.code for f in diagnosis.findings]


@pytest.mark.slow
def test_rising_val_loss_without_an_accuracy_gap_is_over_confidence(store: Path) -> None:
    """Moons trained long: validation loss rises well above its minimum while validation
    accuracy stays with training accuracy."""
    result, diagnosis = _diagnose(store, {
        "data": {"dataset": "moons", "params": {"n_samples": 500, "noise": 0.1}, "split": "6:2:2"},
        "model": {"hidden": [128, 128]},
        "train": {"epochs": 400, "optimizer": {"name": "adam", "lr": 0.01}},
    })  # fmt: skip
    val = result.history["val_loss"]
    assert val[-1] > 3 * min(val)
    assert result.metrics["train_accuracy"] - result.metrics["val_accuracy"] < 0.03
    codes = {f.code: f for f in diagnosis.findings}
    assert "overfitting" not in codes
    confident = codes["overconfidence"]
    assert confident.severity == "info"
    assert "train.early_stopping" in _top_patch(diagnosis)


def test_heavy_dropout_below_a_reference_is_never_the_noise_floor(store: Path) -> None:
    """Dropout 0.8 on a small moons set: train 0.87 against a neighbours reference of 0.90
    scored on 30 rows, a shortfall inside that split's noise. It was called healthy, "at the
    data's noise floor"; the reference may itself fall short of what a network reaches, and
    a setting this strong is a suspect worth measuring (info, with the setting named)."""
    result, diagnosis = _diagnose(store, {
        "seed": 2,
        "data": {"dataset": "moons", "params": {"n_samples": 150, "noise": 0.25}, "split": "6:2:2"},
        "model": {"hidden": [64], "dropout": 0.8},
        "train": {"epochs": 100, "batch_size": 16, "optimizer": {"name": "adam", "lr": 0.01}},
    })  # fmt: skip
    target = diagnosis.reference["achievable"]
    shortfall = target["score"] - result.metrics["train_accuracy"]
    assert 0 < shortfall < target["margin"] / 2  # the old rule's bar for a strong suspect
    under = _first(diagnosis, "underfitting")
    assert under.severity == "info" and under.causes[0] == "model.dropout"
    assert "healthy" not in [f.code for f in diagnosis.findings]


def test_a_bouncing_loss_that_reaches_the_reference_is_no_alarm(store: Path) -> None:
    """A healthy deep MLP on moons at Adam 0.005: its training loss rises in more than a
    quarter of epochs, yet validation matches the best reference. The bounce is said (info),
    not raised as a problem the run does not have."""
    result, diagnosis = _diagnose(store, {
        "seed": 1,
        "data": {"dataset": "moons", "params": {"n_samples": 600, "noise": 0.2}, "split": "6:2:2",
                 "preprocess": {"scale": "standard"}},
        "model": {"hidden": [64, 64, 64, 64]},
        "train": {"epochs": 60, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.005},
                  "early_stopping": {"patience": 8}},
    })  # fmt: skip
    bounce = _first(diagnosis, "lr_too_high")
    assert bounce.severity == "info" and "reaches what is achievable" in bounce.explanation
    assert not [f.code for f in diagnosis.findings if f.severity in ("warning", "critical")]
    assert result.metrics["val_accuracy"] >= diagnosis.reference["achievable"]["score"] - 0.02


def test_little_data_is_remedied_with_the_rows_the_split_keeps_out(store: Path) -> None:
    """60 training rows of moons (the split keeps three quarters in its test share), a 2x256
    MLP, 150 epochs: validation loss turns up after a few epochs from over-confidence while
    validation accuracy keeps improving. The first remedy trains on more of the rows; early
    stopping, where prescribed, watches accuracy, which stopping on the loss would give up."""
    result, diagnosis = _diagnose(store, {
        "seed": 1,
        "data": {"dataset": "moons", "params": {"n_samples": 1000, "noise": 0.25},
                 "split": {"train": 0.06, "val": 0.2}},
        "model": {"hidden": [256, 256]},
        "train": {"epochs": 150, "batch_size": 16, "optimizer": {"name": "adam", "lr": 0.01}},
    })  # fmt: skip
    val_loss, val_acc = result.history["val_loss"], result.history["val_accuracy"]
    turned = val_loss.index(min(val_loss))
    assert max(val_acc[turned + 1 :]) > val_acc[turned]  # accuracy gained after the loss turned
    over = _first(diagnosis, "overfitting")
    assert over.causes[0] == "data.split.train"
    assert over.prescriptions[0].patch == {"data.split.train": 0.24}
    stops = [p.patch["train.early_stopping"] for p in over.prescriptions
             if "train.early_stopping" in p.patch]  # fmt: skip
    assert all(stop["monitor"] == "val_accuracy" for stop in stops)


def test_a_penalty_that_pulls_the_weights_to_zero_is_not_a_learning_rate(store: Path) -> None:
    """L2 of 1.77 on a 4x64 MLP on blobs: the training loss climbs to the level of a model
    that learned nothing while the weights shrink. It is the penalty outweighing the data,
    not steps overshooting: a smaller learning rate would only slow the collapse."""
    result, diagnosis = _diagnose(store, {
        "seed": 4,
        "data": {"dataset": "blobs", "params": {"n_samples": 600, "cluster_std": 1.0},
                 "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [64, 64, 64, 64]},
        "train": {"epochs": 60, "l2": 1.77, "optimizer": {"name": "adam", "lr": 0.005},
                  "early_stopping": {"patience": 8}},
    })  # fmt: skip
    train_loss = result.history["train_loss"]
    assert train_loss[-1] > 1.3 * train_loss[0]  # the loss climbs
    codes = [f.code for f in diagnosis.findings]
    assert "lr_too_high" not in codes
    assert _first(diagnosis, "underfitting").causes[0] == "train.l2"
    assert _top_patch(diagnosis) == {"train.l2": 0.0001}


def test_a_shortfall_just_beyond_the_reference_s_noise_is_a_note() -> None:
    """Three epochs of a small MNIST MLP, its loss still falling: train accuracy 0.918
    against a neighbours model's 0.938 on 1,200 rows (a margin of 0.02) is underfitting worth
    a note; 0.85 is worth a warning."""
    from hone.config import Config
    from hone.diagnose import diagnose_run
    from hone.diagnose.evidence import Evidence

    def underfitting(train_accuracy: float) -> Finding:
        ev = Evidence(
            "r", "completed", "", Config().to_dict(),
            {"train_loss": [1.22, 0.48, 0.35], "val_loss": [0.65, 0.43, 0.37],
             "val_accuracy": [0.82, 0.88, 0.89]},
            {"train_accuracy": train_accuracy, "val_accuracy": 0.89},
            data={"task": "classification", "stats": {"train": {"n": 6000}, "val": {"n": 1200}}},
            reference={"split": "val", "n_scored": 1200,
                       "models": {"majority": {"val_accuracy": 0.11},
                                  "neighbours": {"val_accuracy": 0.938}}},
        )  # fmt: skip
        return _first(diagnose_run(ev), "underfitting")

    assert underfitting(0.9175).severity == "info"
    assert underfitting(0.85).severity == "warning"


def test_epochs_capped_at_a_few_steps_are_the_cause_not_the_batch_size(store: Path) -> None:
    """Eight epochs of two batches each (``train.steps_per_epoch: 2``): 16 steps in all, the
    loss still falling. The cap, not the batch, is what keeps the run from more steps."""
    _, diagnosis = _diagnose(store, {
        "data": {"dataset": "moons", "params": {"n_samples": 1000, "noise": 0.2},
                 "split": "6:2:2"},
        "model": {"hidden": [32, 32]},
        "train": {"epochs": 8, "steps_per_epoch": 2,
                  "optimizer": {"name": "adam", "lr": 0.003}},
    })  # fmt: skip
    under = _first(diagnosis, "underfitting")
    assert "train.steps_per_epoch" in under.causes and "train.batch_size" not in under.causes
    patches = [p.patch for p in under.prescriptions]
    assert {"train.steps_per_epoch": None} in patches
    assert not any("train.batch_size" in p for p in patches)


def test_a_rate_far_above_the_safe_one_is_named_when_a_steep_start_hides_its_bounces(
    store: Path,
) -> None:
    """Adam at lr 1.0 (over 300x its safe 0.003) on blobs: the loss falls steeply, then rises
    in a few epochs; against that descent the rises are a small share, yet the run falls
    well short of what is achievable. The first remedy is the rate, not a bigger network."""
    _, diagnosis = _diagnose(store, {
        "seed": 0,
        "data": {"dataset": "blobs", "split": "6:2:2"},
        "model": {"hidden": [16]},
        "train": {"epochs": 30, "optimizer": {"name": "adam", "lr": 1.0},
                  "early_stopping": {"patience": 8}},
    })  # fmt: skip
    found = _first(diagnosis, "lr_too_high")
    assert found.severity == "warning" and "safe for adam" in found.explanation
    assert _top_patch(diagnosis) == {"train.optimizer.lr": 0.003}
    assert _first(diagnosis, "underfitting").explained_by == "lr_too_high"


def test_early_stopping_of_a_validation_loss_that_only_rose_is_not_the_cause(
    store: Path,
) -> None:
    """Dropout 0.75 in a deep MLP on blobs: validation loss rises from its first epoch while
    the (dropped-out) training loss falls steeply, and early stopping ends it at epoch 9.
    Waiting longer would take validation further from its best: the dropout is the cause."""
    result, diagnosis = _diagnose(store, {
        "seed": 0,
        "data": {"dataset": "blobs", "params": {"n_samples": 600, "cluster_std": 1.0},
                 "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [64, 64, 64, 64], "dropout": 0.752},
        "train": {"epochs": 60, "optimizer": {"name": "adam", "lr": 0.005},
                  "early_stopping": {"patience": 8}},
    })  # fmt: skip
    val = result.history["val_loss"]
    assert result.epochs_run < 20 and all(b > a for a, b in pairwise(val))
    assert _first(diagnosis, "underfitting").causes[0] == "model.dropout"
    assert _top_patch(diagnosis) == {"model.dropout": 0.1}
    assert all("train.early_stopping" not in f.causes for f in diagnosis.findings)


@pytest.mark.parametrize(("monitor", "mode"), [("val_loss", "max"), ("val_accuracy", "min")])
def test_early_stopping_that_counts_the_wrong_direction_is_caused_by_its_mode(
    store: Path, monitor: str, mode: str
) -> None:
    """``mode: max`` on a loss (``min`` on an accuracy) stops once the value has *improved*
    for ``patience`` epochs: a spiral stopped at epoch 4 of 80 near chance. More patience
    (what a stop of a still-improving value gets) would only stop it later: the fix is the
    mode."""
    result, diagnosis = _diagnose(store, {
        "data": {"dataset": "spiral", "params": {"classes": 3, "n_samples": 600}, "split": "6:2:2"},
        "model": {"hidden": [64, 64]},
        "train": {"epochs": 80, "optimizer": {"name": "adam", "lr": 0.003},
                  "early_stopping": {"monitor": monitor, "mode": mode, "patience": 3}},
    })  # fmt: skip
    assert result.epochs_run <= 6 and result.metrics["val_accuracy"] < 0.6
    top = diagnosis.findings[0]
    assert top.severity == "warning" and top.causes[0] == "train.early_stopping.mode"
    assert _top_patch(diagnosis) == {"train.early_stopping.mode": "auto"}
    assert f"mode: {mode}" in top.explanation
    # the same stop in the right direction keeps its patience prescription
    _, right = _diagnose(store, {
        "data": {"dataset": "spiral", "params": {"classes": 3, "n_samples": 600}, "split": "6:2:2"},
        "model": {"hidden": [32]},
        "train": {"epochs": 200, "optimizer": {"name": "adam", "lr": 0.001},
                  "early_stopping": {"monitor": monitor, "patience": 1, "min_delta": 0.1}},
    })  # fmt: skip
    assert "train.early_stopping.mode" not in right.findings[0].causes


def test_a_huber_delta_that_caps_every_sgd_step_is_the_cause_and_probed_on_r2(
    store: Path,
) -> None:
    """Huber with ``delta: 0.001`` on a standardised target under SGD at 0.01: past the
    delta the gradient is the delta, so each step is a thousandth of MSE's (val R² below
    zero), read as a rate too low, where lr 0.1 reached 0.57 and delta 1 0.975. It is named;
    its probe compares on val_r2, since delta 1 reports a loss on another scale. Under Adam,
    which divides the gradient's scale out, the same delta trains well and is not named."""
    cfg = {
        "data": {"dataset": "regression", "params": {"n_samples": 600, "n_features": 4,
                 "noise": 10}, "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [64, 64]},
        "train": {"loss": "huber", "huber_delta": 0.001, "epochs": 40,
                  "optimizer": {"name": "sgd", "lr": 0.01}},
    }  # fmt: skip
    result, diagnosis = _diagnose(store, cfg)
    assert result.metrics["val_r2"] < 0.5
    assert diagnosis.findings[0].causes[0] == "train.huber_delta"
    assert _top_patch(diagnosis) == {"train.huber_delta": 1.0}
    probed = hone.diagnose(result.run_id, store, probe=True).findings[0]
    assert probed.probe["metric"] == "val_r2" and probed.probe["verdict"] == "confirmed"
    cfg["train"]["optimizer"] = {"name": "adam", "lr": 0.003}
    _, adam = _diagnose(store, cfg)
    assert all("train.huber_delta" not in f.causes for f in adam.findings)


def test_an_eps_that_dwarfs_the_gradients_is_the_cause_not_the_rate(store: Path) -> None:
    """Adam at 0.003 with ``eps: 1`` on a spiral: the step is lr * g / (rms + eps), and with
    gradients of ~0.007 per weight that is plain SGD at a tiny rate (val 0.45), read as a
    rate too low. The eps is named, with Adam's own as the fix; an eps of 1e-3, still far
    below those gradients' squares' root, trains to 0.99 and is not named."""
    cfg = {
        "data": {"dataset": "spiral", "params": {"classes": 3, "n_samples": 600}, "split": "6:2:2"},
        "model": {"hidden": [64, 64]},
        "train": {"epochs": 60, "optimizer": {"name": "adam", "lr": 0.003, "eps": 1.0}},
    }  # fmt: skip
    result, diagnosis = _diagnose(store, cfg)
    assert result.metrics["val_accuracy"] < 0.6
    assert diagnosis.findings[0].causes[0] == "train.optimizer.eps"
    assert _top_patch(diagnosis) == {"train.optimizer.eps": 1e-8}
    assert "lr_too_low" not in [f.code for f in diagnosis.findings]
    cfg["train"]["optimizer"]["eps"] = 1e-3
    _, fine = _diagnose(store, cfg)
    assert all("train.optimizer.eps" not in f.causes for f in fine.findings)


def test_a_layer_nearly_all_saturated_is_named_though_the_network_fits(
    store: Path, tmp_path: Path
) -> None:
    """Seed 12's held-out saturation cases: tabular features ×343 into one tanh layer of 256.
    The layer ends more than 90 % saturated, a bank of fixed sign features, and the output
    layer alone fits the training set. That is saturation caused by the unscaled inputs,
    not only a bad start."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=800, n_features=10, n_informative=6, n_classes=3,
                               class_sep=1.5, random_state=0)  # fmt: skip
    np.savez(tmp_path / "x343.npz", x=(x * 343).astype(np.float32), y=y)
    result, diagnosis = _diagnose(store, {
        "seed": 0,
        "data": {"dataset": "npz", "path": str(tmp_path / "x343.npz"), "split": "6:2:2"},
        "model": {"hidden": [256], "activation": "tanh"},
        "train": {"epochs": 80, "optimizer": {"name": "adam", "lr": 0.0025},
                  "early_stopping": {"patience": 8}},
    })  # fmt: skip
    assert result.metrics["train_accuracy"] > 0.95  # it fits its training data
    found = _first(diagnosis, "saturation")
    assert found.evidence["saturated_fraction_by_layer"]["hidden1.act"] > 0.9
    assert found.causes[0] == "data.preprocess.scale"
    assert found.prescriptions[0].patch == {"data.preprocess.scale": "standard"}


def _digits_adam(hidden: list[int], lr: float) -> dict[str, Any]:
    """3 epochs of a ReLU MLP on digits with Adam at ``lr`` (the generator's short MNIST runs)."""
    return {
        "seed": 0,
        "data": {"dataset": "digits", "split": "6:2:2"},
        "model": {"hidden": hidden},
        "train": {"epochs": 3, "batch_size": 64, "optimizer": {"name": "adam", "lr": lr}},
    }


def test_a_rate_that_threw_the_first_epoch_is_too_high_though_the_loss_then_fell(
    store: Path,
) -> None:
    """Seed 12's held-out MNIST case: Adam at 0.316 for 3 epochs. The first epoch's loss
    averaged 9x that of predicting class frequencies, then only fell, and 96 % of the units
    were dead. Dead units were said, led by LeakyReLU; the rate that killed them was not."""
    result, diagnosis = _diagnose(store, _digits_adam([256], 0.3))
    train = result.history["train_loss"]
    assert train[0] > 3 * np.log(10) and train[1] < train[0] and train[2] < train[1]
    found = _first(diagnosis, "lr_too_high")
    assert "first epoch's training loss" in found.explanation
    assert diagnosis.findings[0] is found
    assert _top_patch(diagnosis) == {"train.optimizer.lr": 0.003}


def test_identical_units_on_a_linear_target_are_a_note_not_critical(store: Path) -> None:
    """Seed 13's held-out regression case: a constant init makes all 256 units one, and on
    a linear target one unit is enough: R² 0.996, the linear reference's, where He init
    reached 0.98. "Critical", with He init first, was verified significantly worse."""
    data = {"dataset": "regression", "task": "regression", "split": "6:2:2",
            "params": {"n_samples": 600, "n_features": 8, "n_informative": 6, "noise": 10.0},
            "preprocess": {"scale": "standard"}}  # fmt: skip
    result, diagnosis = _diagnose(store, {
        "seed": 0, "data": data,
        "model": {"hidden": [256], "init": "constant", "init_value": 0.0715},
        "train": {"loss": "mse", "epochs": 150, "optimizer": {"name": "adam", "lr": 0.003},
                  "early_stopping": {"patience": 10}},
    })  # fmt: skip
    found = _first(diagnosis, "bad_init")
    assert found.evidence["symmetric_layers"] == ["hidden1.act"]
    assert found.severity == "info" and "no cost seen" in found.explanation
    assert result.metrics["val_r2"] > 0.99


def test_raw_inputs_that_saturate_a_sound_init_are_saturation_not_a_bad_init(
    store: Path, tmp_path: Path
) -> None:
    """Seed 13's held-out saturation cases: inputs ×44 to ×622 into sigmoid or tanh units
    with the default (Xavier) init. "The initial weights are badly scaled" led, naming
    ``model.init``; the weights were sound and the inputs were not."""
    from tests.diagnose.scenarios import scaled_npz

    _, diagnosis = _diagnose(store, {
        "seed": 0,
        "data": {"dataset": "npz", "path": scaled_npz(tmp_path, 100.0, "x100"),
                 "split": "6:2:2"},
        "model": {"hidden": [32], "activation": "sigmoid"},
        "train": {"epochs": 15, "optimizer": {"name": "adam", "lr": 0.01}},
    })  # fmt: skip
    assert "bad_init" not in [f.code for f in diagnosis.findings]
    found = _first(diagnosis, "saturation")
    assert diagnosis.findings[0] is found and found.causes[0] == "data.preprocess.scale"
    assert _top_patch(diagnosis) == {"data.preprocess.scale": "standard"}


@pytest.mark.parametrize(
    ("model", "train", "cause"),
    [({"hidden": [16], "dropout": 0.828}, {}, "model.dropout"),
     # seed 17: 0.755, which leaves a layer of 16 about 4 units a step (a bottleneck's width)
     ({"hidden": [16], "dropout": 0.755}, {}, "model.dropout"),
     ({"hidden": [256]}, {"l2": 0.707}, "train.l2")],
)  # fmt: skip
def test_a_strong_regulariser_that_holds_training_at_the_reference_is_not_healthy(
    store: Path, tmp_path: Path, model: dict[str, Any], train: dict[str, Any], cause: str
) -> None:
    """Seed 14's held-out half: dropout 0.83 and L2 0.71 on a 3-class table were called
    healthy: training matched the reference models (0.90), which the same net without them
    passes (0.93+). The reference is what simple models reach, not what a network may: a
    setting that strong, holding training at their level, is a suspect (info: --probe
    measures it). Without it, the same net is healthy."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=800, n_features=10, n_informative=6, n_classes=3,
                               class_sep=1.5, random_state=0)  # fmt: skip
    np.savez(tmp_path / "c.npz", x=x.astype(np.float32), y=y)
    config = {
        "seed": 1,
        "data": {"dataset": "npz", "path": str(tmp_path / "c.npz"), "split": "6:2:2",
                 "preprocess": {"scale": "standard"}},
        "model": model,
        "train": {"epochs": 80, "optimizer": {"name": "adam", "lr": 0.005},
                  "early_stopping": {"patience": 8}, **train},
    }  # fmt: skip
    result, diagnosis = _diagnose(store, config)
    target = diagnosis.reference["achievable"]
    # held at the reference's level: short of passing it by its noise
    assert result.metrics["train_accuracy"] < target["score"] + target["margin"]
    found = _first(diagnosis, "underfitting")
    assert found.causes[0] == cause and found.severity == "info"
    plain = {**config, "model": {"hidden": model["hidden"]}, "train": {
        k: v for k, v in config["train"].items() if k not in train}}  # fmt: skip
    _, healthy = _diagnose(store, plain)
    assert [f.code for f in healthy.findings] == ["healthy"]


def test_a_rate_whose_steps_killed_the_units_is_too_high(store: Path) -> None:
    """Seed 15's held-out MNIST case: Adam at 0.435 for 3 epochs, biases starting at zero,
    ended with most ReLU units dead, its loss never above chance and only falling. Dead units
    were said, led by LeakyReLU; the rate 145 times the safe one that killed them was not."""
    result, diagnosis = _diagnose(store, _digits_adam([16], 0.2))
    train = result.history["train_loss"]
    assert train[0] < 3 * np.log(10) and train[2] < train[1] < train[0]  # not thrown
    found = _first(diagnosis, "lr_too_high")
    assert "dead" in found.explanation and diagnosis.findings[0] is found
    assert _first(diagnosis, "dead_units").severity == "critical"
    assert _top_patch(diagnosis) == {"train.optimizer.lr": 0.003}
