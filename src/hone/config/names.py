"""The names a config may use, in one place: the vocabulary the config layer checks and the
layers above implement. Each registry (``hone.nn.activations``, ``hone.nn.init``,
``hone.train.losses``, ``hone.train.optim``, ``hone.train.schedules``) holds exactly these
names (a contract test checks it), so a config is validated without importing what builds it.
Also what a metric's name says about its direction."""

from __future__ import annotations

from typing import Any

from hone.registry import check_name

__all__ = [
    "ACTIVATIONS",
    "CLASSIFICATION_LOSSES",
    "INITIALIZERS",
    "LOSSES",
    "OPTIMIZERS",
    "REGRESSION_LOSSES",
    "SCHEDULES",
    "check_name",
    "direction_known",
    "higher_is_better",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "maxout")
INITIALIZERS = ("auto", "zeros", "constant", "uniform", "normal", "xavier_uniform",
                "xavier_normal", "he_uniform", "he_normal", "lecun_normal",
                "torch_default")  # fmt: skip
CLASSIFICATION_LOSSES = ("cross_entropy", "bce", "mse")
REGRESSION_LOSSES = ("mse", "mae", "huber")
LOSSES = ("cross_entropy", "bce", "mse", "huber", "mae")
# name -> (the torch.optim class, fixed keyword arguments that define the variant)
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
}
SCHEDULES = ("constant", "step", "multistep", "exponential", "cosine", "cosine_restarts",
             "one_cycle", "reduce_on_plateau")  # fmt: skip

# Metrics read as "higher is better" by a tag in their name; everything else, losses and
# errors above all, is minimised (Keras's ``mode="auto"`` makes the same default).
_MAXIMISED = ("accuracy", "acc", "f1", "auc", "precision", "recall", "specificity", "r2")


_MINIMISED = ("loss", "error", "mse", "mae", "rmse")


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` (``val_accuracy``, ``val_loss``, ``test_r2``) is
    better: the one place a metric's direction is decided (early stopping's ``mode: auto``,
    comparisons, tune's direction)."""
    name = metric.lower()
    if any(tag in name for tag in _MINIMISED):
        return False
    return any(tag in name for tag in _MAXIMISED)


def direction_known(metric: str) -> bool:
    """Whether ``metric``'s name says which way is better (not a default guess)."""
    name = metric.lower()
    return any(tag in name for tag in (*_MINIMISED, *_MAXIMISED))
