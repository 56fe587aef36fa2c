# ruff: noqa: E501  (the catalogue is a table; one scenario per line reads best)
"""The diagnosis scenario suite: real tiny training runs, each built to have one known problem
(or none), shared by the tests and by ``benchmarks/diagnosis_suite.py``.

Each scenario states the codes that must fire (its truth), the codes that may accompany them
as consequences, and which codes count as the root cause when ranked first. Its truth is also
checked in the run itself (``truth``), from the run's history, metrics and model, without
hone's rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

Check = Callable[[Any], bool]  # RunResult -> the problem is really there


@dataclass
class Scenario:
    name: str
    config: dict[str, Any]
    expected: set[str]  # codes that must fire ({"healthy"} for controls)
    consequences: set[str] = field(default_factory=set)  # may fire with them
    roots: set[str] = field(default_factory=set)  # acceptable first finding (default: expected)
    truth: Check | None = None
    metric: str = "val_accuracy"  # what "the top prescription helps" is judged on

    @property
    def control(self) -> bool:
        return self.expected == {"healthy"}

    @property
    def root_codes(self) -> set[str]:
        return self.roots or self.expected


def imbalanced_npz(folder: Path, minority: float = 0.05, n: int = 1000, shift: float = 0.7,
                   name: str = "imbalanced") -> str:  # fmt: skip
    """Two overlapping Gaussians: a model can score 1 - minority by never predicting class 1."""
    rng = np.random.default_rng(0)
    n1 = int(n * minority)
    x = np.concatenate([rng.normal(0, 1, (n - n1, 2)), rng.normal(shift, 1, (n1, 2))])
    y = np.array([0] * (n - n1) + [1] * n1)
    path = folder / f"{name}.npz"
    np.savez(path, x=x.astype(np.float32), y=y)
    return str(path)


def sorted_npz(folder: Path, classes: int = 3, name: str = "sorted") -> str:
    """Classes stored in label order: unshuffled splits see different classes."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(c * 3, 1, (200, 2)) for c in range(classes)])
    y = np.repeat(np.arange(classes), 200)
    path = folder / f"{name}.npz"
    np.savez(path, x=x.astype(np.float32), y=y)
    return str(path)


def drifting_npz(folder: Path) -> str:
    """Rows ordered by time, and the features drift with it: the last rows (val, test) come
    from a shifted distribution although the label mix is the same."""
    rng = np.random.default_rng(2)
    n = 900
    drift = np.linspace(0, 4, n)[:, None]
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 2)) + y[:, None] * 2.5 + drift
    path = folder / "drifting.npz"
    np.savez(path, x=x.astype(np.float32), y=y)
    return str(path)


def scaled_npz(folder: Path, scale: float, name: str, source: str = "moons") -> str:
    """Moons (or circles) with raw features multiplied by ``scale`` (un-standardised inputs)."""
    from sklearn.datasets import make_circles, make_moons

    if source == "circles":
        x, y = make_circles(600, noise=0.08, factor=0.5, random_state=0)
    else:
        x, y = make_moons(600, noise=0.2, random_state=0)
    path = folder / f"{name}.npz"
    np.savez(path, x=(x * scale + scale).astype(np.float32), y=y)
    return str(path)


# ---- truth checks: the problem is in the run, measured without hone's rules ----------------


def _acc(r: Any, split: str) -> float:
    return float(r.metrics.get(f"{split}_accuracy", float("nan")))


def low_train_accuracy(limit: float) -> Check:
    return lambda r: _acc(r, "train") < limit


def val_loss_turns_up(r: Any) -> bool:
    val = [v for v in r.history.get("val_loss", []) if v == v]
    return bool(val) and min(val) < 0.8 * float(np.mean(val[-5:])) and _acc(r, "train") > 0.95


def diverged_or_bouncing(r: Any) -> bool:
    """Diverged, bouncing, or stuck where a model that learned nothing sits."""
    loss = r.history.get("train_loss", [])
    ups = sum(1 for a, b in itertools.pairwise(loss[1:]) if b > a * 1.05)
    classes = len(r.model.output.bias) if r.model is not None else 2
    stuck = bool(loss) and loss[-1] > 0.9 * float(np.log(classes))
    return r.status == "diverged" or ups >= max(2, len(loss) // 5) or stuck


def still_falling(r: Any) -> bool:
    loss = r.history.get("val_loss") or r.history.get("train_loss")
    return len(loss) >= 4 and loss[-1] < loss[-3] < loss[-4]


def dead_fraction(limit: float) -> Check:
    def check(r: Any) -> bool:
        x = r.model.hidden1.dense.weight.new_tensor(0)  # find the data via the model's device
        del x
        acts = []
        hook = r.model.hidden1.act.register_forward_hook(lambda m, i, o: acts.append(o))
        probe = torch.as_tensor(
            np.random.default_rng(0).normal(0, 1, (256, 2)), dtype=torch.float32
        )
        try:
            with torch.no_grad():
                r.model.eval()(probe)
        finally:
            hook.remove()
        return bool((acts[0] <= 0).all(0).float().mean() >= limit)

    return check


def identical_units(r: Any) -> bool:
    w = r.model.hidden1.dense.weight.detach()
    return bool((w - w[0]).abs().max() < 1e-6)


def at_chance_recall(r: Any) -> bool:
    return _acc(r, "val") > 0.85  # accuracy looks fine; the minority's recall is judged by hone


# ---- the catalogue ----------------------------------------------------------------------------


def _cfg(data: dict[str, Any], model: dict[str, Any], train: dict[str, Any],
         **top: Any) -> dict[str, Any]:  # fmt: skip
    return {"data": data, "model": model, "train": train, **top}


BLOBS = {"dataset": "blobs", "params": {"n_samples": 600}, "split": "6:2:2"}
MOONS = {"dataset": "moons", "params": {"n_samples": 600, "noise": 0.2}, "split": "6:2:2"}
CIRCLES = {"dataset": "circles", "params": {"n_samples": 600, "noise": 0.08}, "split": "6:2:2"}
DIGITS = {"dataset": "digits", "split": "6:2:2"}
SPIRAL = {"dataset": "spiral", "params": {"n_samples": 600}, "split": "6:2:2"}
XOR = {"dataset": "xor", "params": {"n_samples": 600}, "split": "6:2:2"}
CNN = {"kind": "cnn", "conv": [{"filters": 8, "pool": "max2"}, {"filters": 16, "pool": "max2"}]}


def adam(lr: float, epochs: int, **extra: Any) -> dict[str, Any]:
    return {"optimizer": {"name": "adam", "lr": lr}, "epochs": epochs, **extra}


def sgd(lr: float, epochs: int, **extra: Any) -> dict[str, Any]:
    return {"optimizer": {"name": "sgd", "lr": lr}, "epochs": epochs, **extra}


def scenarios(folder: Path) -> list[Scenario]:
    S = Scenario
    deep_sigmoid = {"hidden": [32] * 10, "activation": "sigmoid"}
    return [
        # underfitting: too little capacity for the data
        S("underfit-spiral", _cfg(SPIRAL, {"hidden": [1], "activation": "tanh"}, adam(0.01, 150)),
          {"underfitting"}, truth=low_train_accuracy(0.75)),
        S("underfit-circles", _cfg(CIRCLES, {"hidden": [1]}, adam(0.01, 60)),
          {"underfitting"}, {"not_converged"}, truth=low_train_accuracy(0.8)),
        S("underfit-digits", _cfg(DIGITS, {"hidden": [1]}, adam(0.01, 40)),
          {"underfitting"}, {"not_converged"}, truth=low_train_accuracy(0.6)),
        S("underfit-xor", _cfg(XOR, {"hidden": [1], "activation": "tanh"}, adam(0.01, 60)),
          {"underfitting"}, {"not_converged"}, truth=low_train_accuracy(0.8)),
        # overfitting: big model, little data, long training
        S("overfit-moons", _cfg({"dataset": "moons", "params": {"n_samples": 100, "noise": 0.4},
                                 "split": "6:2:2"},
                                {"hidden": [256, 256], "activation": "leaky_relu"},
                                adam(0.01, 200, batch_size=16)),
          {"overfitting"}, truth=val_loss_turns_up, metric="val_loss"),
        S("overfit-circles", _cfg({"dataset": "circles", "params": {"n_samples": 120, "noise": 0.3},
                                   "split": "6:2:2"},
                                  {"hidden": [256, 256]}, adam(0.01, 200, batch_size=16)),
          {"overfitting"}, truth=val_loss_turns_up, metric="val_loss"),
        S("overfit-digits", _cfg({"dataset": "digits", "split": {"train": 0.06, "val": 0.3,
                                                                 "test": 0.64}},
                                 {"hidden": [512, 512]}, adam(0.003, 120, batch_size=16)),
          {"overfitting"}, truth=val_loss_turns_up, metric="val_loss"),
        # the learning rate is too high: divergence or a bouncing loss
        S("lr-high-sgd-blobs", _cfg(BLOBS, {"hidden": [32]}, sgd(10.0, 20)),
          {"lr_too_high"}, {"exploding_gradients"}, truth=diverged_or_bouncing),
        S("lr-high-adam-moons", _cfg(MOONS, {"hidden": [64, 64]}, adam(1.0, 30)),
          {"lr_too_high"},
          {"exploding_gradients", "dead_units", "underfitting", "vanishing_gradients"},
          truth=diverged_or_bouncing),
        S("lr-high-sgd-digits", _cfg(DIGITS, {"hidden": [64]}, sgd(8.0, 20)),
          {"lr_too_high"}, {"exploding_gradients", "dead_units", "underfitting"},
          truth=diverged_or_bouncing),
        S("lr-high-cnn", _cfg(DIGITS, CNN | {"hidden": [32]}, adam(0.5, 15)),
          {"lr_too_high"},
          {"exploding_gradients", "dead_units", "underfitting", "vanishing_gradients"},
          truth=diverged_or_bouncing),
        # the learning rate is too low: steady, slow progress
        S("lr-low-blobs", _cfg(BLOBS, {"hidden": [32]}, sgd(3e-5, 30)),
          {"lr_too_low"}, {"underfitting"}, truth=still_falling),
        S("lr-low-moons", _cfg(MOONS, {"hidden": [32, 32]}, sgd(1e-4, 30)),
          {"lr_too_low"}, {"underfitting"}, truth=still_falling),
        S("lr-low-digits", _cfg(DIGITS, {"hidden": [64]}, sgd(2e-4, 30)),
          {"lr_too_low"}, {"underfitting"}, truth=still_falling),
        # stopped too early: healthy steps, still improving
        S("short-moons", _cfg(MOONS, {"hidden": [32, 32]}, adam(0.001, 6)),
          {"not_converged"}, {"underfitting"}, truth=still_falling),
        S("short-digits", _cfg(DIGITS, {"hidden": [64]}, adam(0.001, 6)),
          {"not_converged"}, {"underfitting"}, truth=still_falling),
        S("short-circles", _cfg(CIRCLES, {"hidden": [32, 32]}, adam(0.003, 10)),
          {"not_converged"}, {"underfitting"}, truth=still_falling),
        # vanishing gradients: deep saturating stacks
        S("vanish-blobs", _cfg(BLOBS, deep_sigmoid, sgd(0.1, 10)),
          {"vanishing_gradients"}, {"underfitting", "saturation"},
          roots={"vanishing_gradients", "saturation"}, truth=low_train_accuracy(0.6)),
        S("vanish-moons", _cfg(MOONS, {"hidden": [32] * 8, "activation": "sigmoid"}, sgd(0.3, 10)),
          {"vanishing_gradients"}, {"underfitting", "saturation", "lr_too_low", "not_converged"},
          roots={"vanishing_gradients", "saturation"}, truth=low_train_accuracy(0.8)),
        S("vanish-digits", _cfg(DIGITS, {"hidden": [64] * 8, "activation": "sigmoid"}, sgd(0.1, 10)),
          {"vanishing_gradients"}, {"underfitting", "saturation", "lr_too_low", "not_converged"},
          roots={"vanishing_gradients", "saturation"}, truth=low_train_accuracy(0.5)),
        # exploding gradients
        S("explode-unscaled", _cfg({"dataset": "npz", "path": scaled_npz(folder, 1000.0, "x1000"),
                                    "split": "6:2:2"},
                                   {"hidden": [32, 32]}, adam(0.001, 15)),
          {"exploding_gradients"}, {"underfitting", "lr_too_high", "not_converged", "dead_units"},
          roots={"exploding_gradients", "lr_too_high"}),
        S("explode-deep-normal", _cfg(BLOBS, {"hidden": [64] * 6, "init": "normal"}, sgd(0.001, 10)),
          {"exploding_gradients", "bad_init"},
          {"underfitting", "lr_too_high", "dead_units", "not_converged"}, roots={"bad_init"}),
        S("explode-unscaled-circles", _cfg({"dataset": "npz", "split": "6:2:2",
                                            "path": scaled_npz(folder, 1000.0, "c1000", "circles")},
                                           {"hidden": [32, 32]}, adam(0.001, 40)),
          {"exploding_gradients"}, {"underfitting", "lr_too_high", "not_converged", "dead_units"},
          roots={"exploding_gradients", "lr_too_high"}),
        # dead ReLU units
        S("dead-bias-blobs", _cfg(BLOBS, {"hidden": [64, 64], "bias_init": "constant",
                                          "init_value": -4.0}, adam(0.01, 10)),
          {"dead_units"}, {"not_converged", "underfitting", "bad_init"},
          roots={"dead_units", "bad_init"}, truth=dead_fraction(0.4)),
        S("dead-bias-moons", _cfg(MOONS, {"hidden": [64, 64], "bias_init": "constant",
                                          "init_value": -4.0}, adam(0.005, 10)),
          {"dead_units"}, {"not_converged", "underfitting", "bad_init"},
          roots={"dead_units", "bad_init"}, truth=dead_fraction(0.4)),
        S("dead-bias-circles", _cfg(CIRCLES, {"hidden": [64, 64], "bias_init": "constant",
                                              "init_value": -4.0}, adam(0.005, 10)),
          {"dead_units"}, {"not_converged", "underfitting", "bad_init"},
          roots={"dead_units", "bad_init"}, truth=dead_fraction(0.4)),
        # saturated sigmoid/tanh units
        S("saturate-normal-init", _cfg(BLOBS, {**deep_sigmoid, "init": "normal"}, sgd(0.1, 10)),
          {"saturation"}, {"underfitting", "vanishing_gradients", "bad_init", "not_converged"},
          roots={"bad_init", "saturation"}),
        S("saturate-unscaled", _cfg({"dataset": "npz", "path": scaled_npz(folder, 100.0, "x100"),
                                     "split": "6:2:2"},
                                    {"hidden": [32], "activation": "sigmoid"}, adam(0.01, 15)),
          {"saturation"}, {"underfitting", "exploding_gradients", "not_converged", "bad_init",
                           "lr_too_low"},
          roots={"saturation", "exploding_gradients", "bad_init"}),
        S("saturate-unscaled-tanh", _cfg({"dataset": "npz", "split": "6:2:2",
                                          "path": scaled_npz(folder, 50.0, "x50")},
                                         {"hidden": [32, 32], "activation": "tanh"},
                                         sgd(0.05, 15)),
          {"saturation"}, {"underfitting", "exploding_gradients", "not_converged", "bad_init",
                           "lr_too_high", "vanishing_gradients"},
          roots={"saturation", "exploding_gradients", "bad_init", "lr_too_high"}),
        # symmetric or badly scaled initialisation
        S("init-zeros", _cfg(BLOBS, {"hidden": [32, 32], "activation": "tanh", "init": "zeros"},
                             sgd(0.1, 10)),
          {"bad_init"}, {"underfitting", "not_converged"}, truth=identical_units),
        S("init-constant", _cfg(MOONS, {"hidden": [32, 32], "init": "constant",
                                        "init_value": 0.05}, adam(0.01, 15)),
          {"bad_init"}, {"underfitting", "not_converged", "dead_units"}, truth=identical_units),
        S("init-constant-digits", _cfg(DIGITS, {"hidden": [32], "init": "constant",
                                                "init_value": 0.01}, adam(0.01, 10)),
          {"bad_init"}, {"underfitting", "not_converged", "dead_units"}, truth=identical_units),
        # imbalanced classes: accuracy hides a failing minority
        S("imbalanced-95", _cfg({"dataset": "npz", "path": imbalanced_npz(folder), "split": "6:2:2"},
                                {"hidden": [16]}, adam(0.01, 30)),
          {"misleading_accuracy"}, {"underfitting"}, truth=at_chance_recall,
          metric="val_balanced_accuracy"),
        S("imbalanced-97", _cfg({"dataset": "npz", "split": "6:2:2",
                                 "path": imbalanced_npz(folder, 0.03, 1500, 0.5, "imb97")},
                                {"hidden": [16]}, adam(0.01, 30)),
          {"misleading_accuracy"}, {"underfitting"}, truth=at_chance_recall,
          metric="val_balanced_accuracy"),
        S("imbalanced-90", _cfg({"dataset": "npz", "split": "6:2:2",
                                 "path": imbalanced_npz(folder, 0.1, 1000, 0.3, "imb90")},
                                {"hidden": [16]}, adam(0.01, 30)),
          {"misleading_accuracy"}, {"underfitting"}, truth=at_chance_recall,
          metric="val_balanced_accuracy"),
        # splits from different distributions
        S("split-sorted-labels", _cfg({"dataset": "npz", "path": sorted_npz(folder),
                                       "split": {"train": 0.6, "val": 0.2, "test": 0.2,
                                                 "shuffle": False}},
                                      {"hidden": [16]}, adam(0.01, 10)),
          {"split_mismatch"}, {"overfitting", "underfitting"}),
        S("split-sorted-4", _cfg({"dataset": "npz", "path": sorted_npz(folder, 4, "sorted4"),
                                  "split": {"train": 0.7, "val": 0.15, "test": 0.15,
                                            "shuffle": False}},
                                 {"hidden": [16]}, adam(0.01, 10)),
          {"split_mismatch"}, {"overfitting", "underfitting"}),
        S("split-drift", _cfg({"dataset": "npz", "path": drifting_npz(folder),
                               "split": {"train": 0.6, "val": 0.2, "test": 0.2, "shuffle": False}},
                              {"hidden": [16]}, adam(0.01, 40)),
          {"split_mismatch"}, {"overfitting", "underfitting", "not_converged"}),
        # bias vs variance against a stated target error
        S("bv-variance", _cfg({"dataset": "moons", "params": {"n_samples": 100, "noise": 0.4},
                               "split": "6:2:2", "target_error": 0.05},
                              {"hidden": [256, 256], "activation": "leaky_relu"},
                              adam(0.01, 200, batch_size=16)),
          {"bias_variance", "overfitting"}, roots={"overfitting", "bias_variance"},
          metric="val_loss"),
        S("bv-bias", _cfg({**SPIRAL, "target_error": 0.0}, {"hidden": [1], "activation": "tanh"},
                          adam(0.01, 150)),
          {"bias_variance", "underfitting"}, roots={"underfitting", "bias_variance"}),
        S("bv-digits", _cfg({**DIGITS, "target_error": 0.0}, {"hidden": [2]}, adam(0.01, 30)),
          {"bias_variance"}, {"not_converged", "underfitting"},
          roots={"underfitting", "bias_variance", "not_converged"}),
        # healthy and tempting controls: nothing may fire
        S("ok-moons", _cfg({**MOONS, "params": {"n_samples": 1000, "noise": 0.15}},
                           {"hidden": [32, 32]}, adam(0.01, 60, early_stopping={"patience": 8})),
          {"healthy"}),
        S("ok-blobs-baseline", _cfg({**BLOBS, "params": {"n_samples": 1000}}, {"hidden": [25]},
                                    adam(0.01, 40, early_stopping={"patience": 8})),
          {"healthy"}),
        S("ok-digits", _cfg(DIGITS, {"hidden": [64]}, adam(0.003, 40,
                                                            early_stopping={"patience": 5})),
          {"healthy"}),
        S("ok-circles", _cfg(CIRCLES, {"hidden": [32, 32]}, adam(0.01, 60,
                                                                  early_stopping={"patience": 8})),
          {"healthy"}),
        S("ok-cnn-digits", _cfg(DIGITS, CNN | {"hidden": [32]},
                                adam(0.003, 20, early_stopping={"patience": 4})),
          {"healthy"}),
        S("ok-noisy-val", _cfg({"dataset": "digits", "split": {"train": 0.8, "val": 0.05,
                                                               "test": 0.15}},
                               {"hidden": [128], "norm": "batch"},
                               adam(0.003, 40, early_stopping={"patience": 10})),
          {"healthy"}),
        # Once a control, now a case: early stopping stops this sigmoid net on its plateau at
        # 0.88, where neighbours reach 0.99 on the same split (trained 200 epochs it breaks
        # through to 0.98): not healthy, and the saturating activation is named.
        S("plateau-shallow-sigmoid", _cfg(MOONS, {"hidden": [32, 32], "activation": "sigmoid"},
                                          adam(0.01, 60, early_stopping={"patience": 8})),
          {"underfitting"}, truth=low_train_accuracy(0.9)),
        S("ok-batch1-sgd", _cfg({**BLOBS, "params": {"n_samples": 300}}, {"hidden": [16]},
                                sgd(0.01, 15, batch_size=1)),
          {"healthy"}),
        S("ok-xor-tanh", _cfg(XOR, {"hidden": [16, 16], "activation": "tanh"},
                              adam(0.01, 60, early_stopping={"patience": 8})),
          {"healthy"}),
        S("ok-regression", _cfg({"dataset": "regression", "params": {"n_samples": 600},
                                 "split": "6:2:2"},
                                {"hidden": [32]}, adam(0.01, 60, loss="mse",
                                                       early_stopping={"patience": 8})),
          {"healthy"}, metric="val_loss"),
        S("ok-layernorm-deep", _cfg(MOONS, {"hidden": [32] * 6, "norm": "layer",
                                            "activation": "leaky_relu"},
                                    adam(0.003, 40, early_stopping={"patience": 6})),
          {"healthy"}),
    ]  # fmt: skip
