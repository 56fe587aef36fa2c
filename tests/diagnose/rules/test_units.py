"""``dead_units`` and ``saturation``: a warning where the run falls short of what is
achievable, a note where it reaches it (the units cost nothing measurable there)."""

from __future__ import annotations

from pathlib import Path

import hone
from hone.config import Config
from hone.diagnose.evidence import Evidence
from hone.diagnose.rules.units import DeadUnits, Saturation

FLAT = (2.3, 1.6, *[1.2] * 18)  # a loss that stopped falling long before the end


def _evidence(
    val_accuracy: float, stat: str, share: float, train: tuple[float, ...] = (2.3, 1.6, 1.3, 1.2)
) -> Evidence:
    cfg = Config().to_dict()
    cfg["model"]["hidden"] = [32]
    cfg["train"]["epochs"] = len(train)
    return Evidence(
        "r", "completed", "", cfg,
        {"train_loss": list(train), "val_loss": [2.2, 1.7, *[1.6] * (len(train) - 2)]},
        {"train_accuracy": 0.70, "val_accuracy": val_accuracy},
        telemetry={"at_end": {"hidden1.act": {stat: share}}},
        data={"task": "classification", "stats": {"train": {"n": 1000}, "val": {"n": 360}}},
        reference={"split": "val", "n_scored": 360,
                   "models": {"majority": {"val_accuracy": 0.11},
                              "neighbours": {"val_accuracy": 0.644}}},
    )  # fmt: skip


def test_dead_units_in_a_run_that_reaches_what_is_achievable_are_a_note() -> None:
    # a noise-floor digits CNN: 44 % of its dense layer dead, val 0.61 against 0.644 (the
    # shortfall within the 360 scored rows' noise)
    note = DeadUnits().check(_evidence(0.61, "dead", 0.44))
    assert note is not None and note.severity == "info" and "no cost seen" in note.explanation
    warning = DeadUnits().check(_evidence(0.45, "dead", 0.44, FLAT))
    assert warning is not None and warning.severity == "warning"
    nearly_all = DeadUnits().check(_evidence(0.61, "dead", 0.9))
    assert nearly_all is not None and nearly_all.severity == "critical"


def test_dead_units_that_leave_enough_alive_follow_a_setting_that_explains_the_shortfall() -> None:
    """Seed 30's digits CNNs: half of a 32-unit dense layer dead, a run short of its
    reference, and a setting that explains it (here a run cut off with its loss still
    falling steeply). The 16 units left can carry the task: a note naming that setting, not
    a warning that leads with LeakyReLU (which measured no difference on any of the five)."""
    short = _evidence(0.45, "dead", 0.5, (2.3, 1.6, 1.3, 1.0))
    note = DeadUnits().check(short)
    assert note is not None and note.severity == "info"
    assert "16 units still alive" in note.explanation and "still falling" in note.explanation
    assert DeadUnits().check(_evidence(0.45, "dead", 0.5, FLAT)).severity == "warning"  # type: ignore[union-attr]
    # too few left to be no bottleneck: 2 of 32
    assert DeadUnits().check(_evidence(0.45, "dead", 0.94, (2.3, 1.6, 1.3, 1.0))).severity == (  # type: ignore[union-attr]
        "critical"
    )


def test_saturation_in_a_run_that_reaches_what_is_achievable_is_a_note() -> None:
    assert Saturation().check(_evidence(0.61, "saturated", 0.5)).severity == "info"  # type: ignore[union-attr]
    assert Saturation().check(_evidence(0.45, "saturated", 0.5)).severity == "warning"  # type: ignore[union-attr]


def test_a_layer_whose_outputs_are_nearly_all_zero_is_nearly_dead() -> None:
    """Few units dead for every sample, but 94 % of the outputs zero: each unit fires for a
    few samples. A warning short of the reference, a note at it; a usual half is nothing."""
    warning = DeadUnits().check(_evidence(0.45, "off", 0.94))
    assert warning is not None and warning.severity == "warning"
    assert "94% of the outputs are zero" in warning.explanation
    note = DeadUnits().check(_evidence(0.61, "off", 0.94))
    assert note is not None and note.severity == "info"
    assert DeadUnits().check(_evidence(0.45, "off", 0.6)) is None


def test_a_negative_bias_that_switched_most_outputs_off_is_the_cause(store: Path) -> None:
    """Seed 19's held-out miss: a regression MLP of 256 ReLU units with every bias -3.14.
    A quarter of the units are dead for every sample (under the 40 % bar), yet 94 % of the
    outputs are zero; training R² reaches 0.83 and validation 0.08 where a linear model
    reaches 0.99. It was read as "train longer"; the bias is the cause."""
    result = hone.run({
        "data": {"dataset": "regression", "task": "regression",
                 "params": {"n_samples": 600, "n_features": 8, "n_informative": 6,
                            "noise": 10.0},
                 "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [256], "bias_init": "constant", "init_value": -3.14},
        "train": {"optimizer": {"name": "adam", "lr": 0.0015}, "epochs": 150,
                  "batch_size": 32, "threads": 1, "loss": "mse",
                  "early_stopping": {"patience": 10}},
    }, store=store, seed=2)  # fmt: skip
    diagnosis = hone.diagnose(result.run_id, store)
    top = diagnosis.findings[0]
    assert top.code == "dead_units", [f.code for f in diagnosis.findings]
    assert top.causes[0] == "model.bias_init"
    assert top.prescriptions[0].patch == {"model.bias_init": "zeros"}


def test_a_mostly_zero_layer_in_a_network_that_fits_is_still_a_note() -> None:
    """Seed 21's miss: biases of -3.14 on 256 ReLU units of a CSV net, train 0.95 (so units
    were not judged), 95 % of the outputs zero, val at the reference: called healthy. As a
    layer 90 % dead is named in a network that fits, so is one whose outputs are 90 % zero
    from initialisation on."""
    ev = _evidence(0.61, "off", 0.95)
    ev.metrics["train_accuracy"] = 0.95
    ev.telemetry = {"at_init": {"hidden1.act": {"off": 0.98}}, **(ev.telemetry or {})}
    note = DeadUnits().check(ev)
    assert note is not None and note.severity == "info" and "no cost seen" in note.explanation
    # a layer that grew that sparse while the network fit a few rows is not named
    ev.telemetry["at_init"] = {"hidden1.act": {"off": 0.5}}
    assert DeadUnits().check(ev) is None
    ev.telemetry = {"at_end": {"hidden1.act": {"off": 0.85}}}
    assert DeadUnits().check(ev) is None


def _fitted_tanh(scale: bool, mean: float) -> Evidence:
    """Generator seeds 26 and 28: spiral through [64]x4 tanh, inputs x44 and x82 left raw;
    train 1.0 and val 0.99-1.0 (what a neighbours model reaches), two thirds of the first
    layer's outputs at the bounds at the end."""
    cfg = Config().to_dict()
    cfg["model"].update(hidden=[64, 64, 64, 64], activation="tanh")
    cfg["data"]["preprocess"] = {"scale": "standard" if scale else "none"}
    return Evidence(
        "r", "completed", "", cfg, {"train_loss": [0.9, 0.2, 0.05, 0.02]},
        {"train_accuracy": 1.0, "val_accuracy": 0.994},
        telemetry={"at_end": {"hidden1.act": {"saturated": 0.675},
                              "hidden4.act": {"saturated": 0.502}}},
        data={"task": "classification",
              "stats": {"train": {"n": 540, "mean": [mean, -mean], "std": [44.0, 44.0]},
                        "val": {"n": 180}}},
        reference={"split": "val", "n_scored": 180,
                   "models": {"majority": {"val_accuracy": 0.333},
                              "neighbours": {"val_accuracy": 1.0}}},
    )  # fmt: skip


def test_raw_inputs_that_saturate_a_network_that_fits_are_a_note() -> None:
    """Nothing was lost, yet two thirds of a layer sat at its bounds because the inputs were
    left at 44x unit scale: said as a note naming the inputs' scale (it was "healthy"). With
    standardised inputs the same saturation in a network that fits stays unsaid (under the
    90 % that makes a layer a bank of fixed features)."""
    note = Saturation().check(_fitted_tanh(scale=False, mean=3.0))
    assert note is not None and note.severity == "info" and "no cost seen" in note.explanation
    assert note.causes[0] == "data.preprocess.scale"
    # A deep stack: the inputs' scale, with normalised pre-activations, then the scale alone.
    assert note.prescriptions[0].patch["data.preprocess.scale"] == "standard"
    assert note.prescriptions[0].patch["model.norm"] == "batch"
    assert note.prescriptions[1].patch == {"data.preprocess.scale": "standard"}
    assert Saturation().check(_fitted_tanh(scale=True, mean=0.0)) is None


def test_a_layer_a_negative_bias_switched_off_is_still_its_doing_at_three_quarters_off() -> None:
    """Seed 45's held-out miss: biases of -3.03 on a [16] ReLU layer of a CSV net, 97 % of
    the outputs zero at init and 88 % at the end (a healthy ReLU layer: about half), val
    0.863 within the reference's noise where its twin reached 0.925: called healthy. A
    layer a negative bias switched off at init that is still three quarters off is named,
    as a note where the run reaches its reference; without the bias, 88 % is not."""
    ev = _evidence(0.61, "off", 0.88)
    ev.config["model"].update(bias_init="constant", init_value=-3.03)
    ev.telemetry = {"at_init": {"hidden1.act": {"off": 0.97}}, **(ev.telemetry or {})}
    note = DeadUnits().check(ev)
    assert note is not None and note.severity == "info"
    assert note.causes[0] == "model.bias_init" and note.evidence["threshold"] == 0.75
    ev.config["model"].update(bias_init="zeros")
    assert DeadUnits().check(ev) is None
    ev.config["model"].update(bias_init="constant")
    ev.telemetry["at_init"] = {"hidden1.act": {"off": 0.5}}  # not switched off at init
    assert DeadUnits().check(ev) is None


def test_raw_inputs_that_saturate_a_network_that_memorises_are_the_cause(store: Path) -> None:
    """Held-out seed 51: regression features x39, left unscaled, into a [256] tanh net; 85 %
    of the units at their bounds, train R² 0.99 and val 0.37, read as overfitting that wanted
    dropout. Units pinned at their bounds turn raw features into near-binary codes the
    network memorises: standardising cut val loss by 0.61 (dropout 0.3: by 0.41)."""
    import numpy as np
    from sklearn.datasets import make_regression

    x, y = make_regression(n_samples=600, n_features=8, n_informative=6, noise=10.0,
                           random_state=0)  # fmt: skip
    np.savez(store.parent / "raw.npz", x=(x * 39.0).astype(np.float32), y=y.astype(np.float32))
    cfg = {"data": {"dataset": "npz", "path": str(store.parent / "raw.npz"), "split": "6:2:2",
                    "task": "regression"},
           "model": {"hidden": [256], "activation": "tanh"},
           "train": {"optimizer": {"name": "adam", "lr": 0.0015}, "epochs": 150, "loss": "mse",
                     "early_stopping": {"patience": 10}}}  # fmt: skip
    run = hone.run(cfg, store=str(store), seed=0)
    found = hone.diagnose(run.run_id, store=str(store)).findings
    assert run.metrics["train_r2"] - run.metrics["val_r2"] > 0.2  # the premise: it memorised
    # (here the raw inputs also threw the loss to 1e4 in its first epochs: a rate too high
    # that names them first, as the saturation does)
    assert found[0].causes[0] == "data.preprocess.scale"
    assert found[0].prescriptions[0].patch == {"data.preprocess.scale": "standard"}
    saturation = next(f for f in found if f.code == "saturation")
    assert saturation.severity == "warning" and saturation.causes[0] == "data.preprocess.scale"
    over = next((f for f in found if f.code == "overfitting"), None)
    assert over is None or over.prescriptions[0].patch == {"data.preprocess.scale": "standard"}


def test_units_killed_by_heavy_momentum_are_traced_to_it_first(tmp_path: Path) -> None:
    """Momentum 0.999 under SGD at 0.1 on moons (seed 20): 97 % of a layer dead, the loss
    bouncing but never past twice its start, so no rate too high fires and dead units lead.
    They led with LeakyReLU, which diverged on 6 of 6 seeds; momentum 0.9 reached val 0.95.
    A rate that alone is safe for SGD: the momentum made the steps that killed them."""
    cfg = {
        "seed": 20,
        "data": {"dataset": "moons", "params": {"n_samples": 1000, "noise": 0.25},
                 "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [32, 32]},
        "train": {"optimizer": {"name": "momentum", "lr": 0.1, "momentum": 0.999},
                  "batch_size": 32, "epochs": 50},
    }  # fmt: skip
    result = hone.run(cfg, store=str(tmp_path), progress=False)
    top = hone.diagnose(result.run_id, store=str(tmp_path)).findings[0]
    assert top.code in ("dead_units", "lr_too_high")
    assert top.causes[0] == "train.optimizer.momentum"
    assert top.top_prescription().patch == {"train.optimizer.momentum": 0.9}
    if top.code == "dead_units":
        assert "momentum 0.999" in top.explanation
        assert top.causes.index("model.activation") > top.causes.index("train.optimizer.lr")
