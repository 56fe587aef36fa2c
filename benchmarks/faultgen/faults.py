"""The faults: each takes a family's healthy config and breaks one setting at a random strength.

Every fault is labelled by construction: the finding codes that name it and the config keys
(``causes``) that caused it. Controls break nothing (``healthy``) or only make the labels noisy
(``noise_floor``): no warning may fire on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.faultgen.data import DataRecipe
from benchmarks.faultgen.families import Family

__all__ = ["CONTROLS", "FAULTS", "Fault", "Injection"]

Config = dict[str, Any]


@dataclass
class Injection:
    config: Config  # the faulty config
    strength: dict[str, Any]  # what was drawn
    recipe: DataRecipe | None = None  # the altered data it trains on, if any


Inject = Callable[[Family, np.random.Generator], Injection]

OVERFIT_CAUSES = (
    "model.dropout",
    "train.l2",
    "train.l1",
    "train.optimizer.weight_decay",
    "train.early_stopping",
    "train.augment",
    "model.hidden",
    "train.epochs",
    "data.split.train",
)


@dataclass(frozen=True)
class Fault:
    name: str
    codes: tuple[str, ...]  # acceptable finding codes, the expected one first
    causes: tuple[str, ...]  # acceptable cause keys, the injected setting first
    inject: Inject
    truth: str  # the check that the fault really materialised (see truth.py)
    applies: Callable[[Family], bool] = lambda fam: True
    kind: str = "fault"  # fault | control | noise_control

    @property
    def control(self) -> bool:
        return self.kind != "fault"


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _round(value: float) -> float:
    return float(f"{value:.3g}")


def _lr(cfg: Config) -> float:
    return float(cfg["train"]["optimizer"]["lr"])


# ---- injections -------------------------------------------------------------------------------


def lr_high(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    lr = _round(_log_uniform(rng, 0.3, 3.0))
    cfg["train"]["optimizer"]["lr"] = lr
    return Injection(cfg, {"lr": lr})


def lr_low(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    lr = _round(_lr(cfg) * _log_uniform(rng, 1e-4, 3e-3))
    cfg["train"]["optimizer"]["lr"] = lr
    return Injection(cfg, {"lr": lr})


def dropout(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    rate = _round(rng.uniform(0.7, 0.95))
    cfg["model"]["dropout"] = rate
    return Injection(cfg, {"dropout": rate})


def l2(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    cfg["train"]["l2"] = _round(_log_uniform(rng, 0.1, 3.0))
    return Injection(cfg, {"l2": cfg["train"]["l2"]})


def weight_decay(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    decay = _round(_log_uniform(rng, 3.0, 30.0))
    cfg["train"]["optimizer"] = {"name": "adamw", "lr": _lr(cfg), "weight_decay": decay}
    return Injection(cfg, {"weight_decay": decay})


def schedule(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    gamma = _round(_log_uniform(rng, 0.01, 0.1))
    cfg["train"]["schedule"] = {"name": "step", "step_size": 1, "gamma": gamma}
    return Injection(cfg, {"gamma": gamma})


def early_stop(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    delta = _round(rng.uniform(0.05, 0.3))
    cfg["train"]["early_stopping"] = {"patience": 1, "min_delta": delta}
    return Injection(cfg, {"patience": 1, "min_delta": delta})


def few_epochs(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    epochs = max(1, round(cfg["train"]["epochs"] * rng.uniform(0.015, 0.06)))
    cfg["train"]["epochs"] = epochs
    return Injection(cfg, {"epochs": epochs})


def bad_init(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    if rng.random() < 0.5:
        cfg["model"]["init"] = "zeros"
        return Injection(cfg, {"init": "zeros"})
    value = _round(_log_uniform(rng, 0.05, 0.5))
    cfg["model"].update(init="constant", init_value=value)
    return Injection(cfg, {"init": "constant", "init_value": value})


def saturation(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    factor = _round(_log_uniform(rng, 30.0, 1000.0))
    act = str(rng.choice(["sigmoid", "tanh"]))
    recipe = fam.recipe("scaled", factor=factor)
    cfg["data"] = fam.file_data(recipe)  # preprocess: none
    cfg["model"]["activation"] = act
    return Injection(cfg, {"input_scale": factor, "activation": act}, recipe)


def dead_units(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    bias = -_round(_log_uniform(rng, 3.0, 10.0))
    cfg["model"].update(activation="relu", bias_init="constant", init_value=bias)
    return Injection(cfg, {"bias_init": bias})


def vanishing(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    depth = int(rng.integers(8, 15))
    cfg["model"].update(activation="sigmoid", hidden=[32] * depth)
    return Injection(cfg, {"depth": depth, "activation": "sigmoid"})


def imbalance(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    minority = _round(rng.uniform(0.02, 0.08))
    noise = _round(rng.uniform(0.5, 1.0))
    recipe = fam.recipe(
        "imbalanced", minority=minority, label=fam.dataset.minority_label, noise=noise
    )
    cfg["data"] = fam.file_data(recipe) | {"preprocess": {"scale": "standard"}}
    return Injection(cfg, {"minority": minority, "feature_noise": noise}, recipe)


def sorted_split(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    recipe = fam.recipe("sorted")
    cfg["data"] = fam.file_data(recipe)
    cfg["data"]["split"] = {"train": 0.6, "val": 0.2, "test": 0.2, "shuffle": False}
    if not fam.dataset.image:
        cfg["data"]["preprocess"] = {"scale": "standard"}
    return Injection(cfg, {"shuffle": False}, recipe)


def little_data(fam: Family, rng: np.random.Generator) -> Injection:
    """Few training rows, a big model, long training, no early stopping."""
    cfg = fam.healthy()
    spec = fam.dataset
    if spec.short:
        frac, epochs = _round(rng.uniform(0.002, 0.005)), 60
        cfg["data"]["split"] = {"train": frac, "val": 0.02}
    else:
        lo, hi = (0.03, 0.06) if spec.image else (0.05, 0.12)
        frac, epochs = _round(rng.uniform(lo, hi)), 300
        cfg["data"]["split"] = {"train": frac, "val": 0.2}  # the rest is test
    if spec.regression:  # the case: 60 rows, 30 features, 2x256, hundreds of epochs
        frac = 0.1
        cfg["data"]["split"]["train"] = frac
        cfg["data"]["params"].update(n_features=30, n_informative=30)
    cfg["model"]["hidden"] = [256] if fam.arch == "cnn" else [256, 256]
    cfg["train"].update(epochs=epochs, batch_size=16, early_stopping=None)
    return Injection(cfg, {"train_fraction": frac, "epochs": epochs})


def small_model(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    units = int(rng.integers(1, 3))
    cfg["model"]["hidden"] = [units]
    if fam.arch == "cnn":
        cfg["model"]["conv"] = [{"filters": 1, "pool": "max2"}]
    return Injection(cfg, {"hidden": [units]})


def noise_floor(fam: Family, rng: np.random.Generator) -> Injection:
    cfg = fam.healthy()
    flip = _round(rng.uniform(0.2, 0.3))
    recipe = fam.recipe("noisy", flip=flip)
    cfg["data"] = fam.file_data(recipe)
    if not fam.dataset.image:
        cfg["data"]["preprocess"] = {"scale": "standard"}
    if fam.dataset.short:  # the NPZ subset is split 6:2:2 like the other files
        cfg["train"]["epochs"] = 3
    return Injection(cfg, {"label_noise": flip}, recipe)


def healthy(fam: Family, rng: np.random.Generator) -> Injection:
    return Injection(fam.healthy(), {})


# ---- the catalogue ----------------------------------------------------------------------------


def _long(fam: Family) -> bool:  # faults about when training stops need more than 3 epochs
    return not fam.dataset.short


def _classes(fam: Family) -> bool:
    return not fam.dataset.regression


LR = ("train.optimizer.lr",)
STOPPED = ("not_converged", "underfitting")
F = Fault
FAULTS: dict[str, Fault] = {
    f.name: f
    for f in [
        F("lr_high", ("lr_too_high",), LR, lr_high, "hurt"),
        F("lr_low", ("lr_too_low", "not_converged"), LR, lr_low, "hurt"),
        F("dropout", ("underfitting",), ("model.dropout",), dropout, "hurt"),
        F("l2", ("underfitting",), ("train.l2",), l2, "hurt"),
        F("weight_decay", ("underfitting",), ("train.optimizer.weight_decay",), weight_decay,
          "hurt"),
        F("schedule", STOPPED, ("train.schedule",), schedule, "hurt", _long),
        F("early_stop", STOPPED, ("train.early_stopping",), early_stop, "hurt", _long),
        F("few_epochs", STOPPED, ("train.epochs",), few_epochs, "hurt", _long),
        F("bad_init", ("bad_init",), ("model.init", "model.init_value"), bad_init,
          "hurt_or_identical"),
        F("saturation", ("saturation",), ("data.preprocess.scale",), saturation,
          "hurt_or_saturated"),
        # A bias initialised to kill the units is also a bad initialisation: either code,
        # as long as it names the bias initialiser.
        F("dead_units", ("dead_units", "bad_init"), ("model.bias_init", "model.init_value"),
          dead_units, "hurt_or_dead"),
        F("vanishing", ("vanishing_gradients",), ("model.activation",), vanishing, "hurt"),
        F("imbalance", ("misleading_accuracy",), ("train.class_weight", "data.sampler"),
          imbalance, "minority_missed", _classes),
        F("sorted_split", ("split_mismatch",), ("data.split.shuffle",), sorted_split, "hurt"),
        F("little_data", ("overfitting",), OVERFIT_CAUSES, little_data, "gap"),
        F("small_model", ("underfitting",), ("model.hidden", "model.conv"), small_model, "hurt",
          _classes),
    ]
}  # fmt: skip
CONTROLS: dict[str, Fault] = {
    "healthy": F("healthy", (), (), healthy, "trains", kind="control"),
    "noise_floor": F("noise_floor", (), (), noise_floor, "at_noise_floor", _classes,
                     kind="noise_control"),
}  # fmt: skip
