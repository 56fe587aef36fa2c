"""``train:`` — loss, optimizer, batches and epochs, regularisation and the remedies around the
loop (schedules, early stopping, clipping, augmentation, ensembles), plus ``telemetry:``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hone.config.names import LOSSES, check_name
from hone.config.options import OptimizerConfig, ScheduleConfig
from hone.config.types import (
    Int,
    NonNegFinite,
    NonNegInt,
    PosInt,
    Strict,
    TensorNonNeg,
    TensorPos,
    Text,
    Unit,
)

__all__ = [
    "WATCH_CODES",
    "AugmentConfig",
    "EarlyStoppingConfig",
    "EnsembleConfig",
    "GradClipConfig",
    "TelemetryConfig",
    "TrainConfig",
    "WatchConfig",
]

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d{1,3})?)$")


class EarlyStoppingConfig(Strict):
    monitor: Text = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    min_delta: NonNegFinite = 0.0
    patience: NonNegInt = 10
    start_from_epoch: NonNegInt = 0
    restore_best: bool = True  # also when training ends without the stop firing


class GradClipConfig(Strict):
    norm: TensorPos | None = None  # clip the global gradient norm to this
    value: TensorPos | None = None  # clip every gradient element to [-value, value]

    @model_validator(mode="after")
    def _one_of(self) -> GradClipConfig:
        if (self.norm is None) == (self.value is None):
            raise ValueError("give exactly one of norm or value, e.g. {norm: 1.0}")
        return self


class AugmentConfig(Strict):
    """Label-preserving, batched transforms of training images (never val or test)."""

    hflip: bool = False
    vflip: bool = False
    rotate: NonNegFinite = Field(0.0, le=180)  # up to +-degrees
    translate: NonNegFinite = Field(0.0, lt=1)  # up to +-fraction of width/height
    scale: NonNegFinite = Field(0.0, lt=1)  # zoom by a factor in [1-scale, 1+scale]
    crop_padding: NonNegInt = Field(0, le=1024)  # pad, then crop at a random offset
    brightness: NonNegFinite = Field(0.0, le=1e6)  # add U(-b, b) per image
    noise: NonNegFinite = Field(0.0, le=1e6)  # add N(0, noise^2) per pixel


class EnsembleConfig(Strict):
    members: Int = Field(5, ge=2, le=100)
    vary: Literal["seed", "init", "hyperparams"] = "seed"
    combine: Literal["mean_prob", "vote"] = "mean_prob"


WATCH_CODES = (
    "lr_too_high",
    "bad_init",
    "vanishing_gradients",
    "exploding_gradients",
    "dead_units",
    "saturation",
    "overfitting",
)


class WatchConfig(Strict):
    """Live diagnosis while training: warnings always; a stop only for the codes in
    ``stop_on`` (or every critical finding with ``stop_on: critical``)."""

    # Judge every N epochs ("epoch" = 1), or every N optimizer steps ("200 steps") for long
    # epochs; never more than ~2 % of the training time either way.
    every: PosInt | str = 1
    stop_on: Literal["critical"] | list[Literal[WATCH_CODES]] = Field(  # type: ignore[valid-type]
        default_factory=list
    )
    patience: PosInt = 3  # evaluations in a row a finding must persist before it stops the run
    stop_within: PosInt | None = None  # stop only in the first N epochs (hone run --repair)

    @field_validator("every")
    @classmethod
    def _every(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            return value
        text = value.strip().lower()
        if text == "epoch":
            return 1
        found = re.fullmatch(r"(\d+)\s*steps?", text)
        if not found or int(found.group(1)) < 1:
            raise ValueError("give a number of epochs, 'epoch', or 'N steps' (e.g. '200 steps')")
        return f"{int(found.group(1))} steps"

    @property
    def every_steps(self) -> int | None:
        """N for ``every: N steps``, else ``None`` (judged at epoch ends)."""
        return int(self.every.split()[0]) if isinstance(self.every, str) else None


class TrainConfig(Strict):
    # auto: cross_entropy for classification, mse for regression (the run records which)
    loss: Text = "auto"
    label_smoothing: Unit = Field(0.0, lt=1)
    # Weight each class's loss: "balanced" (n / (classes * count), as scikit-learn) or
    # {label: weight} with unlisted labels at 1.
    # A dict's unlisted classes weigh 1; weights of 0 for every class in the training split
    # are refused when the data is known (hone.assemble.resolve_class_weights).
    class_weight: Literal["balanced"] | dict[str, TensorNonNeg] | None = None
    huber_delta: TensorPos = 1.0  # huber
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    batch_size: PosInt | Literal["full"] = 32
    epochs: Int = Field(100, gt=0, le=10_000_000)
    device: Text = "auto"
    threads: Int | Literal["auto"] = "auto"  # CPU threads; auto: 1 for tiny models
    compile: bool = False  # torch.compile the model (pays off on GPUs and long runs)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # autocast on CUDA (fp16 with scaling)
    l1: NonNegFinite = Field(0.0, le=1e4)  # adds l1 * sum|W| to the loss
    l2: NonNegFinite = Field(0.0, le=1e4)  # adds (l2 / 2) * sum W^2 (see the L2 table)
    regularize_bias: bool = False  # include biases and norm parameters in l1/l2
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    early_stopping: EarlyStoppingConfig | None = None
    grad_clip: GradClipConfig | None = None
    unfreeze_at_epoch: PosInt | None = None  # gradual unfreezing of model.freeze
    augment: AugmentConfig | None = None
    ensemble: EnsembleConfig | None = None
    memory_check: bool = True  # refuse models that cannot fit in memory (false: try anyway)
    checkpoint_every: PosInt = 10  # resumable checkpoint every N epochs (then <= 1/s)
    watch: WatchConfig | None = Field(default_factory=WatchConfig)  # null: no live diagnosis

    @model_validator(mode="before")
    @classmethod
    def _lr_shortcut(cls, value: Any) -> Any:
        # ``train.lr`` is shorthand for ``train.optimizer.lr`` (as in ``--set train.lr=0.01``).
        if isinstance(value, dict) and "lr" in value:
            value = dict(value)
            lr = value.pop("lr")
            opt = value.get("optimizer", {})
            opt = {"name": opt} if isinstance(opt, str) else dict(opt or {})
            opt["lr"] = lr
            value["optimizer"] = opt
        return value

    @field_validator("class_weight", mode="before")
    @classmethod
    def _label_keys(cls, value: Any) -> Any:
        # YAML reads ``{1: 5.0}`` with an integer key; labels are matched as text.
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value

    @field_validator("threads")
    @classmethod
    def _threads(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 1024:
            raise ValueError(f"expected auto or 1..1024 threads, got {value}")
        return value

    @field_validator("loss")
    @classmethod
    def _known_loss(cls, name: str) -> str:
        return name if name == "auto" else check_name("loss", name, ("auto", *LOSSES))

    @field_validator("device")
    @classmethod
    def _known_device(cls, device: str) -> str:
        if not _DEVICE.match(device):
            raise ValueError(f"expected auto, cpu, cuda, cuda:N or mps, got {device[:40]!r}")
        return device


class TelemetryConfig(Strict):
    """Per-layer gradient/weight/activation statistics, sampled ``per_epoch`` times an epoch."""

    enabled: bool = True
    per_epoch: PosInt = Field(4, le=1000)

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value
