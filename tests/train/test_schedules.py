"""Each schedule's LR curve, as hone applied it in a real run, equals torch's reference."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.optim import lr_scheduler as lrs

import hone
from hone.errors import ConfigError
from tests.conftest import tiny

LR, EPOCHS = 0.1, 24
Ref = Callable[[torch.optim.Optimizer], Any]


def reference(make: Ref, epochs: int = EPOCHS, metrics: list[float] | None = None) -> list[float]:
    """The LR at the start of each epoch when torch's scheduler steps once per epoch."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    sched = make(opt)
    lrs_seen = []
    for epoch in range(epochs):
        lrs_seen.append(opt.param_groups[0]["lr"])
        opt.step()
        if metrics is not None:
            sched.step(metrics[epoch])
        else:
            sched.step()
    return lrs_seen


def hone_lrs(store: Path, schedule: dict[str, Any], epochs: int = EPOCHS) -> list[float]:
    cfg = tiny(
        **{
            "train.schedule": schedule,
            "train.epochs": epochs,
            "train.optimizer": {"name": "sgd", "lr": LR},
        }
    )
    return hone.run(cfg, store=str(store)).history["lr"]


CASES: list[tuple[dict[str, Any], Ref]] = [
    ({"name": "step", "step_size": 5, "gamma": 0.5}, lambda o: lrs.StepLR(o, 5, 0.5)),
    ({"name": "step", "step_size": 20, "gamma": 0.1}, lambda o: lrs.StepLR(o, 20, 0.1)),
    (
        {"name": "multistep", "milestones": [3, 10], "gamma": 0.2},
        lambda o: lrs.MultiStepLR(o, [3, 10], 0.2),
    ),
    ({"name": "exponential", "gamma": 0.9}, lambda o: lrs.ExponentialLR(o, 0.9)),
    (
        {"name": "cosine", "t_max": 12, "eta_min": 0.001},
        lambda o: lrs.CosineAnnealingLR(o, T_max=12, eta_min=0.001),
    ),
    (
        {"name": "cosine_restarts", "t_0": 4, "t_mult": 2, "eta_min": 0.0},
        lambda o: lrs.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2),
    ),
    (
        {"name": "step", "step_size": 5, "gamma": 0.5, "warmup_epochs": 3},
        lambda o: lrs.SequentialLR(
            o, [lrs.LinearLR(o, 0.25, 1.0, total_iters=3), lrs.StepLR(o, 5, 0.5)], milestones=[3]
        ),
    ),
    (
        {"name": "cosine", "warmup_epochs": 4},
        lambda o: lrs.SequentialLR(
            o,
            [lrs.LinearLR(o, 0.2, 1.0, total_iters=4), lrs.CosineAnnealingLR(o, T_max=EPOCHS - 4)],
            milestones=[4],
        ),
    ),
    (
        {"name": "constant", "warmup_epochs": 2},
        lambda o: lrs.SequentialLR(
            o,
            [lrs.LinearLR(o, 1 / 3, 1.0, total_iters=2), lrs.LambdaLR(o, lambda _: 1.0)],
            milestones=[2],
        ),
    ),
]


@pytest.mark.parametrize(
    ("schedule", "make"), CASES, ids=lambda c: str(c) if isinstance(c, dict) else ""
)
def test_per_epoch_curve_equals_torch(tmp_path: Path, schedule: dict[str, Any], make: Ref) -> None:
    assert hone_lrs(tmp_path, schedule) == pytest.approx(reference(make), rel=1e-12, abs=1e-15)


def test_reduce_on_plateau_follows_the_monitored_metric(tmp_path: Path) -> None:
    cfg = tiny(
        **{
            "train.schedule": {
                "name": "reduce_on_plateau",
                "monitor": "val_loss",
                "factor": 0.5,
                "patience": 1,
                "cooldown": 1,
                "min_lr": 0.01,
            },
            "train.epochs": EPOCHS,
            "train.optimizer": {"name": "sgd", "lr": LR},
        }
    )
    result = hone.run(cfg, store=str(tmp_path))
    ref = reference(
        lambda o: lrs.ReduceLROnPlateau(
            o, mode="min", factor=0.5, patience=1, cooldown=1, min_lr=0.01
        ),
        metrics=result.history["val_loss"],
    )
    assert result.history["lr"] == pytest.approx(ref)


def test_one_cycle_steps_per_batch(tmp_path: Path) -> None:
    cfg = tiny(
        **{
            "train.schedule": {"name": "one_cycle", "max_lr": 0.5, "pct_start": 0.25},
            "train.epochs": 6,
            "train.batch_size": 40,
            "train.optimizer": {"name": "sgd", "lr": LR},
        }
    )
    result = hone.run(cfg, store=str(tmp_path))
    from hone.store import RunStore

    with RunStore(str(tmp_path)) as rs:
        per_step = rs.get_run(result.run_id).extra["lr_steps"]
    steps = 6 * 3  # 120 training rows / 40
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    sched = lrs.OneCycleLR(opt, max_lr=0.5, total_steps=steps, pct_start=0.25)
    expected = []
    for _ in range(steps):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert per_step == pytest.approx(expected)
    assert result.history["lr"] == pytest.approx(expected[::3])


def test_schedule_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"train\.schedule\.stepsize.*did you mean 'step_size'"):
        hone.run(tiny(**{"train.schedule": {"name": "step", "stepsize": 3}}), store=str(tmp_path))
    with pytest.raises(ConfigError, match="own warm-up"):
        hone.run(
            tiny(**{"train.schedule": {"name": "one_cycle", "warmup_epochs": 2}}),
            store=str(tmp_path),
        )
    with pytest.raises(ConfigError, match="needs a validation split"):
        hone.run(
            tiny(**{"data.split": "8:2", "train.schedule": "reduce_on_plateau"}),
            store=str(tmp_path),
        )
    with pytest.raises(ConfigError, match=r"unknown schedule 'cosin'.*did you mean 'cosine'"):
        hone.run(tiny(**{"train.schedule": "cosin"}), store=str(tmp_path))
