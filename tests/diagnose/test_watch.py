"""Live diagnosis (``train.watch``): findings recorded where they first appear, a stop on the
codes asked for, and no stop on healthy runs."""

from __future__ import annotations

from pathlib import Path

import pytest

import hone
from hone.config.train import WATCH_CODES
from tests.conftest import tiny

VANISHING = {
    "model.activation": "sigmoid",
    "model.hidden": [32] * 8,
    "train.optimizer": {"name": "sgd", "lr": 0.01},
    "train.epochs": 30,
}


def test_a_finding_is_recorded_at_the_epoch_it_appears(store: Path) -> None:
    result = hone.run(tiny(**VANISHING), store=store)
    timeline = result.notes["watch"]["timeline"]
    first = next(t for t in timeline if t["code"] == "vanishing_gradients")
    assert first["epoch"] <= 5 and first["step"] > 0  # early in the run, not only at its end
    assert first["prescription"]["patch"]
    diagnosis = hone.diagnose(result.run_id, store=store)
    assert diagnosis.timeline[0]["code"] == "vanishing_gradients"


def test_stop_on_stops_the_run_and_keeps_the_record(store: Path) -> None:
    watch = {"stop_on": ["vanishing_gradients"], "patience": 2}
    config = tiny(**{**VANISHING, "train.epochs": 300, "train.watch": watch})
    result = hone.run(config, store=store)
    assert result.status == "stopped" and result.epochs_run < 300
    assert "watch: vanishing_gradients" in result.message
    from hone.store import RunStore

    with RunStore(store) as rs:
        record = rs.get_run(result.run_id)
    assert record.status == "stopped" and len(record.history["epoch"]) == result.epochs_run
    assert (store / "runs" / result.run_id / "weights.safetensors").is_file()


def test_watch_off_records_no_timeline(store: Path) -> None:
    result = hone.run(tiny(**VANISHING, **{"train.watch": None}), store=store)
    assert "watch" not in result.notes and result.epochs_run == 30


HEALTHY = [
    {},
    {"model.activation": "tanh"},
    {"model.activation": "leaky_relu", "model.hidden": [32, 32]},
    {"model.activation": "elu", "model.norm": "batch"},
    {"model.norm": "layer", "model.dropout": 0.2},
    {"train.optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}},
    {"train.optimizer": {"name": "rmsprop", "lr": 0.003}},
    {"data": {"dataset": "moons", "params": {"n_samples": 300}, "split": "6:2:2"}},
    {"data": {"dataset": "circles", "params": {"n_samples": 300}, "split": "6:2:2"},
     "model.hidden": [32]},
    {"data": {"dataset": "digits", "split": "6:2:2"}, "model.hidden": [64]},
]  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_healthy_runs_are_never_stopped(store: Path, seed: int) -> None:
    watch = {"stop_on": list(WATCH_CODES)}
    for overrides in HEALTHY:
        config = tiny(**{"train.epochs": 20, "seed": seed, "train.watch": watch, **overrides})
        result = hone.run(config, store=store)
        assert result.status == "completed", (overrides, result.message)


# One real tiny run per stop_on code, each set up so the problem is there from the start.
PROBLEMS = {
    "lr_too_high": {"train.optimizer": {"name": "adam", "lr": 3.0}, "model.hidden": [32]},
    "bad_init": {"model.init": "zeros", "model.hidden": [32, 32]},
    "vanishing_gradients": VANISHING,
    "exploding_gradients": {
        "model.init": "normal", "model.activation": "relu", "model.hidden": [64] * 4,
        "train.optimizer": {"name": "sgd", "lr": 1e-4},
    },
    "dead_units": {"model.init": "zeros", "model.hidden": [32, 32]},
    # A warning stops a run only once its loss stops improving: here the saturated network
    # stalls on circles. 1,500 rows make an epoch long beside a judgement, which the watch
    # makes within a share of the training time: with 300 it judged every ~10 epochs and,
    # on a loaded machine, stopped past epoch 40 (it stops at 10 here).
    "saturation": {
        "model.activation": "sigmoid", "model.init": "normal", "model.hidden": [256, 256],
        "data": {"dataset": "circles", "params": {"n_samples": 1500, "noise": 0.2},
                 "split": "6:2:2"},
        "train.optimizer": {"name": "adam", "lr": 0.001},
    },
}  # fmt: skip


def test_every_code_is_covered() -> None:
    assert set(PROBLEMS) | {"overfitting"} == set(WATCH_CODES)


@pytest.mark.parametrize("code", sorted(PROBLEMS))
def test_each_stop_on_code_stops_where_the_problem_starts(store: Path, code: str) -> None:
    watch = {"stop_on": [code]}
    result = hone.run(tiny(**{**PROBLEMS[code], "train.epochs": 80, "train.watch": watch}),
                      store=store)  # fmt: skip
    first = next(t for t in result.notes["watch"]["timeline"] if t["code"] == code)
    assert first["epoch"] <= 5, first
    assert result.status == "stopped" and f"watch: {code}" in result.message
    assert result.epochs_run <= 40  # in the first half of the run


def test_a_transient_warning_does_not_stop_a_run_that_still_learns(store: Path) -> None:
    # tanh units saturate for a dozen epochs while the classes separate, then recover.
    config = tiny(**{"model.activation": "tanh", "seed": 2, "train.epochs": 40,
                     "train.watch": {"stop_on": ["saturation"]}})  # fmt: skip
    result = hone.run(config, store=store)
    assert [t["code"] for t in result.notes["watch"]["timeline"]] == ["saturation"]
    assert result.status == "completed"


def test_overfitting_stops_soon_after_validation_loss_turns_up(store: Path) -> None:
    data = {"dataset": "moons", "params": {"n_samples": 100, "noise": 0.5}, "split": "3:3:4"}
    config = tiny(**{"data": data, "model.hidden": [256, 256], "train.batch_size": 8,
                     "train.epochs": 100, "train.watch": {"stop_on": ["overfitting"]}})  # fmt: skip
    result = hone.run(config, store=store)
    val = result.history["val_loss"]
    turned = val.index(min(val)) + 1
    first = next(t for t in result.notes["watch"]["timeline"] if t["code"] == "overfitting")
    assert turned <= first["epoch"] <= turned + 6
    assert result.status == "stopped" and result.epochs_run < 40


def test_every_n_steps_judges_inside_long_epochs(store: Path) -> None:
    # Two epochs of 30 steps: judged only at epoch ends, nothing would be seen before epoch 3.
    long_epochs = {**VANISHING, "train.epochs": 2, "train.batch_size": 4}
    by_epoch = hone.run(tiny(**long_epochs), store=store)
    assert by_epoch.notes["watch"]["timeline"] == []
    by_steps = hone.run(tiny(**long_epochs, **{"train.watch": {"every": "10 steps"}}), store=store)
    first = by_steps.notes["watch"]["timeline"][0]
    assert first["code"] == "vanishing_gradients" and first["epoch"] == 1 and first["step"] <= 30


@pytest.mark.parametrize("every", ["ten steps", "0 steps", "steps", 0])
def test_a_bad_every_names_the_field(store: Path, every: object) -> None:
    with pytest.raises(hone.ConfigError, match=r"train\.watch\.every"):
        hone.run(tiny(**{"train.watch": {"every": every}}), store=store)
