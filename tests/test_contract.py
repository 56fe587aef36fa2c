"""One contract over every registry entry: a short real run on tiny data learns (its loss goes
down), or, for the deliberately bad initialisers, shows the documented failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import hone
from hone.api import build_run
from hone.config import load_config
from hone.config.names import REGRESSION_LOSSES
from hone.nn.activations import ACTIVATIONS
from hone.nn.init import INITIALIZERS
from hone.train.losses import LOSSES
from hone.train.optim import OPTIMIZERS
from hone.train.schedules import SCHEDULES
from tests.conftest import tiny

BAD_INITS = {"zeros", "constant", "uniform", "normal"}


def learns(store: Path, **overrides: Any) -> None:
    result = hone.run(tiny(**{"train.epochs": 12, **overrides}), store=str(store))
    losses = result.history["train_loss"]
    assert result.status == "completed", result.message
    assert losses[-1] < losses[0], (overrides, losses)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_learns(tmp_path: Path, name: str) -> None:
    learns(tmp_path, **{"model.activation": name})


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_learns(tmp_path: Path, name: str) -> None:
    lr = 0.1 if name in ("sgd", "adagrad") else 0.01
    learns(tmp_path, **{"train.optimizer": {"name": name, "lr": lr}})


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_learns(tmp_path: Path, name: str) -> None:
    learns(tmp_path, **{"train.schedule": name})


@pytest.mark.parametrize("name", [n for n in LOSSES if n not in REGRESSION_LOSSES or n == "mse"])
def test_classification_loss_learns(tmp_path: Path, name: str) -> None:
    learns(tmp_path, **{"train.loss": name})


@pytest.mark.parametrize("name", REGRESSION_LOSSES)
def test_regression_loss_learns(tmp_path: Path, name: str) -> None:
    learns(tmp_path, **{"train.loss": name, "data.dataset": "regression", "data.params": {}})


@pytest.mark.parametrize("name", [n for n in INITIALIZERS if n not in BAD_INITS])
def test_init_learns(tmp_path: Path, name: str) -> None:
    learns(tmp_path, **{"model.init": name})


@pytest.mark.parametrize("name", ["zeros", "constant"])
def test_symmetric_inits_leave_all_hidden_units_equal(tmp_path: Path, name: str) -> None:
    result = hone.run(
        tiny(
            **{
                "model.init": name,
                "model.activation": "tanh",
                "model.hidden": [8],
                "train.epochs": 5,
            }
        ),
        store=str(tmp_path),
    )
    assert result.model is not None
    w = result.model.hidden1.dense.weight.detach()
    assert torch.allclose(w, w[0].expand_as(w)), "hidden units should stay identical"


def activation_stds(init: str) -> list[float]:
    """Std of each hidden block's output at initialisation, for a 5 x 256 ReLU MLP."""
    built = build_run(load_config(tiny(**{"model.init": init, "model.hidden": [256] * 5})))
    x = built.model.flatten(built.data.train.x)
    stds = []
    with torch.no_grad():
        for i in range(1, 6):
            x = getattr(built.model, f"hidden{i}")(x)
            stds.append(float(x.std()))
    return stds


@pytest.mark.parametrize("name", ["uniform", "normal"])
def test_naive_random_inits_explode_activations_with_depth(name: str) -> None:
    bad = activation_stds(name)
    assert bad[-1] > 100 * bad[0], bad  # the scale grows by orders of magnitude with depth
    he = activation_stds("auto")
    assert he[-1] < 10 * he[0], he  # He keeps it of the same order


def test_every_registry_holds_exactly_the_names_config_checks() -> None:
    """A config is validated against ``hone.config.names`` without importing the layers that
    build what it names; each registry implements exactly that vocabulary."""
    from hone.config import names

    assert ACTIVATIONS.names() == list(names.ACTIVATIONS)
    assert INITIALIZERS.names() == list(names.INITIALIZERS)
    assert sorted(LOSSES.names()) == sorted(names.LOSSES)
    assert set(names.CLASSIFICATION_LOSSES) | set(names.REGRESSION_LOSSES) == set(names.LOSSES)
    assert OPTIMIZERS.names() == list(names.OPTIMIZERS)
    assert SCHEDULES.names() == list(names.SCHEDULES)
