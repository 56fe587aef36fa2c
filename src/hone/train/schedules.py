"""Learning-rate schedules by config name, built on ``torch.optim.lr_scheduler``.

Config names use snake case (``t_max``, ``t_0``); they map onto torch's arguments. Every
schedule may get a linear ``warmup_epochs`` in front. ``one_cycle`` steps per batch; the others
step per epoch (``reduce_on_plateau`` with the monitored metric).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import lr_scheduler as lrs

from hone.config.names import higher_is_better
from hone.errors import ConfigError, suggest
from hone.registry import Registry

__all__ = ["SCHEDULES", "Schedule", "ScheduleSpec"]


@dataclass(frozen=True)
class ScheduleSpec:
    cls: type
    per_step: bool = False
    renames: tuple[tuple[str, str], ...] = ()  # (config name, torch name)
    defaults: Callable[[int, int, float], dict[str, Any]] = lambda epochs, steps, lr: {}


SCHEDULES: Registry[ScheduleSpec] = Registry("schedule", "train.schedule.name")
SCHEDULES.add(
    "constant", ScheduleSpec(lrs.LambdaLR, defaults=lambda e, s, lr: {"lr_lambda": lambda _: 1.0})
)
SCHEDULES.add("step", ScheduleSpec(lrs.StepLR, defaults=lambda e, s, lr: {"step_size": 10}))
SCHEDULES.add(
    "multistep", ScheduleSpec(lrs.MultiStepLR, defaults=lambda e, s, lr: {"milestones": [e // 2]})
)
SCHEDULES.add(
    "exponential", ScheduleSpec(lrs.ExponentialLR, defaults=lambda e, s, lr: {"gamma": 0.95})
)
SCHEDULES.add(
    "cosine",
    ScheduleSpec(
        lrs.CosineAnnealingLR, renames=(("t_max", "T_max"),), defaults=lambda e, s, lr: {"T_max": e}
    ),
)
SCHEDULES.add(
    "cosine_restarts",
    ScheduleSpec(
        lrs.CosineAnnealingWarmRestarts,
        renames=(("t_0", "T_0"), ("t_mult", "T_mult")),
        defaults=lambda e, s, lr: {"T_0": 10},
    ),
)
SCHEDULES.add(
    "one_cycle",
    ScheduleSpec(
        lrs.OneCycleLR,
        per_step=True,
        defaults=lambda e, s, lr: {"max_lr": 10 * lr, "total_steps": e * s},
    ),
)
SCHEDULES.add("reduce_on_plateau", ScheduleSpec(lrs.ReduceLROnPlateau))

_PLATEAU_ONLY = {"monitor"}  # hone's own keys, not torch arguments


class Schedule:
    """A configured schedule: ``step_batch()`` after every optimizer step, ``step_epoch()``
    after every epoch (with the monitored value for ``reduce_on_plateau``)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        name: str,
        params: dict[str, Any],
        warmup_epochs: int,
        epochs: int,
        steps_per_epoch: int,
    ) -> None:
        spec = SCHEDULES.get(name)
        self.name = name
        self.per_step = spec.per_step
        self.monitor: str | None = None
        self.warmup_epochs = warmup_epochs
        if spec.per_step and warmup_epochs:
            raise ConfigError(
                f"train.schedule.warmup_epochs: '{name}' has its own warm-up (pct_start); "
                "remove warmup_epochs"
            )
        kwargs = self._kwargs(
            spec,
            name,
            params,
            epochs - warmup_epochs,
            steps_per_epoch,
            optimizer.param_groups[0]["lr"],
        )
        try:
            self.main: Any = spec.cls(optimizer, **kwargs)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"train.schedule: {name}: {exc}") from None
        self.plateau = isinstance(self.main, lrs.ReduceLROnPlateau)
        self.warmup: lrs.LRScheduler | None = None
        if warmup_epochs:
            warm = lrs.LinearLR(
                optimizer,
                start_factor=1.0 / (warmup_epochs + 1),
                end_factor=1.0,
                total_iters=warmup_epochs,
            )
            if self.plateau:  # SequentialLR cannot chain a plateau schedule: warm up by hand
                self.warmup = warm
            else:
                self.main = lrs.SequentialLR(optimizer, [warm, self.main], [warmup_epochs])
        self.epoch = 0

    def state_dict(self) -> dict[str, Any]:
        warm = self.warmup.state_dict() if self.warmup is not None else None
        return {"main": self.main.state_dict(), "warmup": warm, "epoch": self.epoch}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.main.load_state_dict(saved["main"])
        if self.warmup is not None and saved["warmup"] is not None:
            self.warmup.load_state_dict(saved["warmup"])
        self.epoch = int(saved["epoch"])

    def _kwargs(
        self,
        spec: ScheduleSpec,
        name: str,
        params: dict[str, Any],
        epochs: int,
        steps: int,
        lr: float,
    ) -> dict[str, Any]:
        renames = dict(spec.renames)
        accepted = set(inspect.signature(spec.cls).parameters) - {
            "optimizer",
            "last_epoch",
            "verbose",
            "lr_lambda",
        }
        # Config names: torch's argument names, with the renamed ones under their config name.
        config_names = (accepted - set(renames.values())) | set(renames)
        valid = sorted(config_names)
        kwargs = spec.defaults(epochs, steps, lr)
        for key, value in params.items():
            if name == "reduce_on_plateau" and key in _PLATEAU_ONLY:
                self.monitor = str(value)
                continue
            if key not in config_names:
                options = valid + (sorted(_PLATEAU_ONLY) if name == "reduce_on_plateau" else [])
                raise ConfigError(
                    f"train.schedule.{key}: '{name}' has no setting '{key}'"
                    f"{suggest(key, options)}; valid: {', '.join(options)}"
                )
            kwargs[renames.get(key, key)] = value
        if name == "reduce_on_plateau":
            self.monitor = self.monitor or "val_loss"
            kwargs.setdefault("mode", "max" if higher_is_better(self.monitor) else "min")
        return kwargs

    def step_batch(self) -> None:
        if self.per_step:
            self.main.step()

    def step_epoch(self, logs: dict[str, float]) -> None:
        self.epoch += 1
        if self.warmup is not None and self.epoch <= self.warmup_epochs:
            self.warmup.step()
            return
        if self.per_step:
            return
        if self.plateau:
            self.main.step(logs[str(self.monitor)])
        else:
            self.main.step()
