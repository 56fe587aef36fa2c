"""Named choices with options: ``optimizer: {name: adam, lr: 0.001, betas: [0.9, 0.99]}`` and
``schedule: {name: step, step_size: 10}``. Each name's options are checked here, when the config
is validated, so a typo or a NaN is a config error before anything trains."""

from __future__ import annotations

import inspect
import itertools
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hone.config.names import OPTIMIZERS, SCHEDULES, check_name
from hone.config.types import (
    NonNegFinite,
    NonNegInt,
    PosFinite,
    PosInt,
    Text,
    Unit,
    names_schema,
    or_shorthand,
)
from hone.errors import suggest

__all__ = ["KEY_MARK", "OptimizerConfig", "ScheduleConfig", "at_key", "schedule_options_model"]


class _NamedWithOptions(BaseModel):
    """A registry ``name`` (``optimizer: adam`` is short for ``{name: adam}``) plus options."""

    model_config = ConfigDict(
        extra="allow", validate_default=True, allow_inf_nan=False, use_attribute_docstrings=True
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def at_key(key: str, message: str) -> ValueError:
    """An error about option ``key`` of this section: the message names ``section.key``."""
    return ValueError(f"{KEY_MARK}{key}{KEY_MARK}{message}")


KEY_MARK = "\x1f"  # format_validation_error moves the key into the path


def _explain(exc: ValidationError) -> ValueError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    return at_key(key, err["msg"].removeprefix("Value error, "))


# ---- optimizers -------------------------------------------------------------------------------

_BOOL_OPTIONS = {"nesterov", "amsgrad", "maximize", "foreach", "capturable", "differentiable",
                 "fused", "centered", "decoupled_weight_decay"}  # fmt: skip
_UNIT_OPTIONS = {"momentum", "dampening", "alpha"}  # in [0, 1]


def _check_optimizer_option(name: str, key: str, value: Any, accepted: set[str]) -> None:
    if key not in accepted:
        raise at_key(
            key,
            f"'{name}' has no hyper-parameter '{key}'{suggest(key, accepted)}; "
            f"valid: {', '.join(sorted(accepted))}",
        )
    if key in _BOOL_OPTIONS or isinstance(value, bool):
        if not isinstance(value, bool) or key not in _BOOL_OPTIONS:
            wanted = "true or false" if key in _BOOL_OPTIONS else "a number"
            raise at_key(key, f"expected {wanted}, got {value!r}")
        return
    if key == "betas":
        ok = (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(_number(b) and 0 <= b < 1 for b in value)
        )
        if not ok:
            raise at_key(key, f"expected two numbers in [0, 1), got {value!r}")
        return
    if not _number(value):
        raise at_key(key, f"expected a finite number, got {value!r}")
    if value < 0:
        raise at_key(key, f"must be >= 0, got {value}")
    if key in _UNIT_OPTIONS and value > 1:
        raise at_key(key, f"must be in [0, 1], got {value}")
    if key == "eps" and value == 0:
        raise at_key(key, "must be > 0")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class OptimizerConfig(_NamedWithOptions):
    """``name`` and ``lr``; other keys pass through to the ``torch.optim`` class."""

    model_config = ConfigDict(
        json_schema_extra=or_shorthand({"enum": list(OPTIMIZERS)}), title="OptimizerConfig"
    )

    name: Text = Field("adam", json_schema_extra=names_schema(OPTIMIZERS))
    """sgd, momentum (SGD with 0.9), nesterov, adam, adamw, adagrad or rmsprop."""
    lr: PosFinite = Field(0.001, le=1e6)  # far beyond any useful rate; a typo, not a choice
    """The learning rate: where a schedule starts and what warm-up rises to."""

    @field_validator("name")
    @classmethod
    def _known_optimizer(cls, name: str) -> str:
        return check_name("optimizer", name, list(OPTIMIZERS))

    @model_validator(mode="after")
    def _check_options(self) -> OptimizerConfig:
        import torch.optim  # the optimizer's own signature says which options it takes

        cls = getattr(torch.optim, OPTIMIZERS[self.name][0])
        accepted = set(inspect.signature(cls).parameters) - {"params", "lr"}
        for key, value in self.options().items():
            _check_optimizer_option(self.name, key, value, accepted)
        return self


# ---- schedules --------------------------------------------------------------------------------


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, use_attribute_docstrings=True)


class _Constant(_Options):
    """The learning rate stays at train.optimizer.lr."""


class _Step(_Options):
    """Multiply the learning rate by gamma every step_size epochs (StepLR)."""

    step_size: PosInt = 10
    """Epochs between decays."""
    gamma: PosFinite = 0.1
    """The factor applied at each decay."""


class _MultiStep(_Options):
    """Multiply the learning rate by gamma at each milestone epoch (MultiStepLR)."""

    milestones: list[PosInt] = Field(default_factory=list, max_length=1000)
    """Increasing epochs at which to decay; empty: once, at half the epochs."""
    gamma: PosFinite = 0.1
    """The factor applied at each milestone."""

    @field_validator("milestones")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"must be increasing epochs, got {value}")
        return value


class _Exponential(_Options):
    """Multiply the learning rate by gamma every epoch (ExponentialLR)."""

    gamma: PosFinite = 0.95
    """The factor applied every epoch."""


class _Cosine(_Options):
    """Cosine annealing from lr down to eta_min over t_max epochs (CosineAnnealingLR)."""

    t_max: PosInt | None = None
    """Epochs of one half cosine; default: the epochs after warm-up."""
    eta_min: NonNegFinite = 0.0
    """The lowest learning rate."""


class _CosineRestarts(_Options):
    """Cosine annealing restarted every t_0, t_0 x t_mult, ... epochs (SGDR)."""

    t_0: PosInt = 10
    """Epochs of the first cycle."""
    t_mult: PosInt = 1
    """Each cycle is this many times longer than the one before."""
    eta_min: NonNegFinite = 0.0
    """The lowest learning rate."""


class _OneCycle(_Options):
    """The one-cycle policy (OneCycleLR), stepped every batch: warm up to max_lr, then anneal
    far below the start."""

    max_lr: PosFinite | None = None
    """The peak learning rate; default 10 x train.optimizer.lr."""
    pct_start: Unit = Field(0.3, gt=0, lt=1)
    """The fraction of the steps spent rising to max_lr."""
    anneal_strategy: Literal["cos", "linear"] = "cos"
    """The shape of both phases."""
    div_factor: PosFinite = 25.0
    """The start learning rate is max_lr / div_factor."""
    final_div_factor: PosFinite = 1e4
    """The last learning rate is the start / final_div_factor."""
    three_phase: bool = False
    """A third phase that anneals further after the symmetric rise and fall."""
    cycle_momentum: bool = True
    """Cycle momentum (or Adam's beta1) inversely to the learning rate."""
    base_momentum: Unit = 0.85
    """The momentum at the learning rate's peak."""
    max_momentum: Unit = 0.95
    """The momentum at the start and end."""


class _Plateau(_Options):
    """Multiply the learning rate by factor when a metric stops improving (ReduceLROnPlateau)."""

    monitor: Text = "val_loss"
    """The history series watched."""
    mode: Literal["min", "max"] | None = None
    """Default: max for accuracy-like metrics, min otherwise."""
    factor: Unit = Field(0.1, gt=0, lt=1)
    """The factor applied on a plateau."""
    patience: NonNegInt = 10
    """Epochs without improvement before the decay."""
    threshold: NonNegFinite = 1e-4
    """The smallest change that counts as an improvement."""
    threshold_mode: Literal["rel", "abs"] = "rel"
    """Whether threshold is relative to the best value or absolute."""
    cooldown: NonNegInt = 0
    """Epochs to wait after a decay before watching again."""
    min_lr: NonNegFinite = 0.0
    """The learning rate never goes below this."""
    eps: NonNegFinite = 1e-8
    """A decay smaller than this is skipped."""


_SCHEDULE_OPTIONS: dict[str, type[_Options]] = {
    "constant": _Constant,
    "step": _Step,
    "multistep": _MultiStep,
    "exponential": _Exponential,
    "cosine": _Cosine,
    "cosine_restarts": _CosineRestarts,
    "one_cycle": _OneCycle,
    "reduce_on_plateau": _Plateau,
}


def schedule_options_model(name: str) -> type[BaseModel]:
    return _SCHEDULE_OPTIONS[name]


def _per_schedule(schema: dict[str, Any], *_: Any) -> None:
    """The schema lists each schedule's own settings, so an editor completes and checks them:
    one alternative per name (``name`` may be left out for constant)."""
    shared = schema.pop("properties")
    for key in ("additionalProperties", "type"):
        schema.pop(key, None)
    alternatives: list[dict[str, Any]] = [{"enum": list(SCHEDULES)}]
    for name, model in _SCHEDULE_OPTIONS.items():
        own = model.model_json_schema()
        named = {"const": name, "description": shared["name"].get("description", "")}
        alternatives.append({
            "type": "object",
            "title": name,
            "description": own.get("description", ""),
            "properties": {**shared, "name": named, **own.get("properties", {})},
            "required": [] if name == "constant" else ["name"],
            "additionalProperties": False,
        })  # fmt: skip
    schema["anyOf"] = alternatives


class ScheduleConfig(_NamedWithOptions):
    """``name`` plus that schedule's settings, each checked for type and range."""

    model_config = ConfigDict(json_schema_extra=_per_schedule, title="ScheduleConfig")

    name: Text = Field("constant", json_schema_extra=names_schema(SCHEDULES))
    """constant, step, multistep, exponential, cosine, cosine_restarts, one_cycle or
    reduce_on_plateau; the other keys are that schedule's options."""
    warmup_epochs: NonNegInt = 0
    """Epochs of linear warm-up to the learning rate before the schedule starts (not with
    one_cycle, which has its own: pct_start)."""

    @field_validator("name")
    @classmethod
    def _known_schedule(cls, name: str) -> str:
        return check_name("schedule", name, SCHEDULES)

    @model_validator(mode="after")
    def _check_options(self) -> ScheduleConfig:
        model = _SCHEDULE_OPTIONS.get(self.name)
        if model is None:
            return self
        given = self.options()
        for key in given:
            if key not in model.model_fields:
                valid = sorted(model.model_fields)
                raise at_key(
                    key,
                    f"'{self.name}' has no setting '{key}'{suggest(key, valid)}; valid: "
                    + (", ".join(valid) if valid else "none (only warmup_epochs)"),
                )
        try:
            model.model_validate(given)
        except ValidationError as exc:
            raise _explain(exc) from None
        return self
