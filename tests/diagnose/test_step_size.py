"""``hone.diagnose.step_size``: a step too large traced to the setting that made it so (the
rate, a schedule that raised it, heavy momentum), on evidence and on trained runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hone
from hone.config import Config, load_config
from hone.diagnose.evidence import Evidence
from hone.diagnose.step_size import smaller_step, step_causes, step_suspects

MOONS: dict[str, Any] = {
    "data": {"dataset": "moons", "params": {"n_samples": 1000, "noise": 0.25},
             "split": "6:2:2", "preprocess": {"scale": "standard"}},
    "model": {"hidden": [32, 32]},
    "train": {"batch_size": 32, "epochs": 50},
}  # fmt: skip


def _evidence(lrs: list[float], **train: Any) -> Evidence:
    cfg = load_config(Config(), {f"train.{k}": v for k, v in train.items()})
    history = {"train_loss": [1.0] * len(lrs), "lr": lrs}
    return Evidence("r", "completed", "", cfg.to_dict(), history, {},
                    data={"task": "classification"})  # fmt: skip


def test_a_one_cycle_peak_with_max_lr_set_is_the_cause_and_a_smaller_lr_is_no_remedy() -> None:
    # max_lr pins the peak: a smaller train.optimizer.lr would change nothing
    ev = _evidence([0.2, 0.9, 1.4], optimizer={"name": "sgd", "lr": 0.1},
                   schedule={"name": "one_cycle", "max_lr": 5.0})  # fmt: skip
    assert step_causes(ev) == ["train.schedule", "train.optimizer.lr"]
    fixes = smaller_step(ev, 0.01, "a smaller learning rate")
    assert [p.patch for p in fixes] == [{"train.schedule.max_lr": 0.1}]


def test_a_rate_too_high_for_its_optimizer_leads_the_default_one_cycle_peak() -> None:
    # one_cycle's default peak is 10x lr: at lr 0.5, SGD's rate is itself too high
    ev = _evidence([0.02, 1.4], optimizer={"name": "sgd", "lr": 0.5},
                   schedule={"name": "one_cycle"})  # fmt: skip
    assert step_causes(ev) == ["train.optimizer.lr", "train.schedule"]
    fixes = smaller_step(ev, 0.05, "a smaller learning rate")
    assert [p.patch for p in fixes] == [{"train.optimizer.lr": 0.05},
                                        {"train.schedule.max_lr": 0.1}]  # fmt: skip


@pytest.mark.parametrize(
    ("train", "lrs"),
    [({"optimizer": {"name": "sgd", "lr": 0.1}, "schedule": {"name": "cosine"}}, [0.1, 0.05]),
     ({"optimizer": {"name": "sgd", "lr": 0.1}}, [0.1, 0.1]),
     ({"optimizer": {"name": "momentum", "lr": 0.1}}, [0.1]),  # the usual 0.9
     ({"optimizer": {"name": "adam", "lr": 0.01, "betas": [0.999, 0.999]}}, [0.01])],
)  # fmt: skip
def test_settings_that_do_not_raise_the_step_are_not_suspects(
    train: dict[str, Any], lrs: list[float]
) -> None:
    ev = _evidence(lrs, **train)
    assert step_suspects(ev) == []
    assert step_causes(ev) == ["train.optimizer.lr"]


@pytest.mark.parametrize(("lr", "first"), [(0.1, "train.optimizer.momentum"),
                                          (2.0, "train.optimizer.lr")])  # fmt: skip
def test_heavy_momentum_leads_where_the_rate_alone_would_be_safe(lr: float, first: str) -> None:
    ev = _evidence([lr], optimizer={"name": "sgd", "lr": lr, "momentum": 0.999})
    assert step_causes(ev)[0] == first
    assert {"train.optimizer.momentum": 0.9} in [p.patch for p in smaller_step(ev, 0.01, "")]


def _top(store: Path, train: dict[str, Any], seed: int) -> tuple[str, list[str], dict[str, Any]]:
    cfg = load_config(MOONS, {**{f"train.{k}": v for k, v in train.items()}, "seed": seed})
    run = hone.run(cfg, store=str(store))
    found = hone.diagnose(run.run_id, store=str(store)).findings[0]
    return found.code, found.causes, found.prescriptions[0].patch


@pytest.mark.parametrize("seed", [0, 1])
def test_momentum_0999_that_throws_sgd_is_named_before_the_rate(store: Path, seed: int) -> None:
    """SGD at 0.1 with momentum 0.999 diverges on moons and was blamed on the rate alone: lr
    0.01 (the remedy then) still bounced, to 0.82-0.93 val accuracy; momentum 0.9 at the same
    rate reaches 0.95."""
    code, causes, patch = _top(store, {"optimizer": {"name": "momentum", "lr": 0.1,
                                                     "momentum": 0.999}}, seed)  # fmt: skip
    assert code == "lr_too_high"
    assert causes[:2] == ["train.optimizer.momentum", "train.optimizer.lr"]
    assert patch == {"train.optimizer.momentum": 0.9}


def test_a_one_cycle_schedule_that_throws_the_run_is_named_and_lowered(store: Path) -> None:
    """SGD at 0.1 under one_cycle with max_lr 5 diverges in its sixth epoch, at a rate of
    1.4: the remedy was ``train.optimizer.lr: 0.01``, which leaves the peak where it was."""
    thrown = {"optimizer": {"name": "sgd", "lr": 0.1},
              "schedule": {"name": "one_cycle", "max_lr": 5.0}}  # fmt: skip
    code, causes, patch = _top(store, thrown, 0)
    assert code == "lr_too_high"
    assert causes[0] == "train.schedule"
    assert patch == {"train.schedule.max_lr": 0.1}
    fixed = hone.run(load_config(MOONS, {"train.optimizer": {"name": "sgd", "lr": 0.1},
                                         "train.schedule": {"name": "one_cycle", "max_lr": 5.0},
                                         **patch}), store=str(store))  # fmt: skip
    assert fixed.status == "completed" and fixed.metrics["val_accuracy"] > 0.9
