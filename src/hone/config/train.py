"""``train:`` — loss, optimizer, batches and epochs, regularisation and the remedies around the
loop (schedules, early stopping, clipping, augmentation, ensembles), plus ``telemetry:``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

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
    names_schema,
    or_shorthand,
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
    """Stop when the monitored metric has not improved for ``patience`` epochs (Keras's
    EarlyStopping)."""

    monitor: Text = "val_loss"
    """The history series watched, e.g. val_loss or val_accuracy."""
    mode: Literal["auto", "min", "max"] = "auto"
    """auto: max for accuracy-like metrics, min for losses and errors."""
    min_delta: NonNegFinite = 0.0
    """The smallest change that counts as an improvement."""
    patience: NonNegInt = 10
    """Epochs without improvement before training stops."""
    start_from_epoch: NonNegInt = 0
    """Epochs to train before stopping may begin."""
    restore_best: bool = True
    """Restore the best epoch's weights at the end, also when the stop never fired."""


class GradClipConfig(Strict):
    norm: TensorPos | None = None
    """Clip the global gradient norm to this."""
    value: TensorPos | None = None
    """Clip every gradient element to [-value, value]."""

    @model_validator(mode="after")
    def _one_of(self) -> GradClipConfig:
        if (self.norm is None) == (self.value is None):
            raise ValueError("give exactly one of norm or value, e.g. {norm: 1.0}")
        return self


class AugmentConfig(Strict):
    """Label-preserving, batched transforms of training images (never val or test)."""

    hflip: bool = False
    """Flip images left-right with probability 1/2."""
    vflip: bool = False
    """Flip images upside down with probability 1/2."""
    rotate: NonNegFinite = Field(0.0, le=180)
    """Rotate by up to +-this many degrees."""
    translate: NonNegFinite = Field(0.0, lt=1)
    """Shift by up to +-this fraction of the width and height."""
    scale: NonNegFinite = Field(0.0, lt=1)
    """Zoom by a factor in [1 - scale, 1 + scale]."""
    crop_padding: NonNegInt = Field(0, le=1024)
    """Pad by this many pixels, then crop back at a random offset."""
    brightness: NonNegFinite = Field(0.0, le=1e6)
    """Add U(-b, b) to each image."""
    noise: NonNegFinite = Field(0.0, le=1e6)
    """Add N(0, noise^2) to each pixel (tables: to each feature)."""


class EnsembleConfig(Strict):
    """Train several members in one run and combine their predictions."""

    members: Int = Field(5, ge=2, le=100)
    """How many models to train."""
    vary: Literal["seed", "init", "hyperparams"] = "seed"
    """What differs between members: the seed, the initialiser, or the hyper-parameters."""
    combine: Literal["mean_prob", "vote"] = "mean_prob"
    """mean_prob averages the members' probabilities (soft voting); vote takes the majority."""


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

    every: PosInt | str = Field(1, json_schema_extra={"pattern": r"^(epoch|\s*\d+\s*steps?)$"})
    """Judge every N epochs ("epoch" = 1), or every N optimizer steps ("200 steps") for long
    epochs; never more than ~2 % of the training time either way."""
    stop_on: Literal["critical"] | list[Literal[WATCH_CODES]] = Field(  # type: ignore[valid-type]
        default_factory=list
    )
    """Findings that stop the run once they persist: a list of codes, or critical."""
    patience: PosInt = 3
    """Evaluations in a row a finding must persist before it stops the run."""
    stop_within: PosInt | None = None
    """Stop only in the first N epochs (hone run --repair)."""

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


def _lr_shorthand(schema: dict[str, Any], *_: Any) -> None:
    schema["properties"]["lr"] = {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1e6,
        "description": "Shorthand for train.optimizer.lr.",
    }


class TrainConfig(Strict):
    """Loss, optimizer, batches and epochs, regularisation and the remedies around the loop."""

    model_config = ConfigDict(json_schema_extra=_lr_shorthand)

    loss: Text = Field("auto", json_schema_extra=names_schema(("auto", *LOSSES)))
    """auto: cross_entropy for classification, mse for regression (the run records which).
    Classification: cross_entropy, bce, mse (on one-hot targets); regression: mse, mae, huber."""
    label_smoothing: Unit = Field(0.0, lt=1)
    """Targets become (1 - e) one-hot + e / K, for every classification loss."""
    class_weight: Literal["balanced"] | dict[str, TensorNonNeg] | None = None
    """Weight each class's loss: balanced (n / (classes x count), as scikit-learn) or
    {label: weight} with unlisted labels at 1 (weights of 0 for every class in the training
    split are refused when the data is known)."""
    huber_delta: TensorPos = 1.0
    """huber: where the loss turns from quadratic to linear (in standard deviations of a
    standardised target)."""
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    """The optimizer: a name, or {name, lr, ...} with other keys passed to torch.optim."""
    batch_size: PosInt | Literal["full"] = 32
    """Rows per step; 1 is pure SGD, full the whole training set (batch gradient descent)."""
    epochs: Int = Field(100, gt=0, le=10_000_000)
    """Passes over the training split."""
    steps_per_epoch: Int | None = Field(None, gt=0, le=1_000_000_000)
    """Cap each epoch at this many batches of its shuffled order (Keras's steps_per_epoch):
    shorter epochs, validated as often; none: every batch. hone diagnose --probe uses it to
    test a remedy in a fraction of an epoch."""
    device: Text = Field("auto", json_schema_extra={"pattern": _DEVICE.pattern})
    """auto (a GPU when there is one), cpu, cuda, cuda:N or mps."""
    threads: Int | Literal["auto"] = Field(
        "auto", json_schema_extra={"minimum": 1, "maximum": 1024}
    )
    """CPU threads (1..1024); auto: 1 for tiny models, else the cores other processes leave
    free."""
    compile: bool = False
    """torch.compile the model (pays off on GPUs and long runs)."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Autocast on CUDA (fp16 with gradient scaling)."""
    l1: NonNegFinite = Field(0.0, le=1e4)
    """Adds l1 x sum|W| to the loss (weights only)."""
    l2: NonNegFinite = Field(0.0, le=1e4)
    """Adds (l2 / 2) x sum W^2 to the loss, gradient l2 x W (weights only; Keras's l2(λ) is
    l2: 2λ here)."""
    regularize_bias: bool = False
    """Include biases and norm parameters in l1 and l2."""
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    """The learning-rate schedule: a name, or {name, warmup_epochs, ...its options}."""
    early_stopping: EarlyStoppingConfig | None = None
    """Stop when the monitored metric stops improving; null: train every epoch."""
    grad_clip: GradClipConfig | None = None
    """Clip gradients by global norm ({norm: 1.0}) or by value ({value: 0.5})."""
    unfreeze_at_epoch: PosInt | None = None
    """Release the layers model.freeze holds at this epoch (gradual unfreezing)."""
    augment: AugmentConfig | None = None
    """Label-preserving transforms of training images (tables: noise only)."""
    ensemble: EnsembleConfig | None = None
    """Train several members and combine them."""
    memory_check: bool = True
    """Refuse a model that cannot fit in free memory (false: try anyway)."""
    checkpoint_every: PosInt = 10
    """A resumable checkpoint every N epochs (then at most once a second); see --resume."""
    watch: WatchConfig | None = Field(default_factory=WatchConfig)
    """Live diagnosis while training; null turns it off."""

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

    model_config = ConfigDict(json_schema_extra=or_shorthand({"type": "boolean"}))

    enabled: bool = True
    """Record telemetry (telemetry: false is short for enabled: false)."""
    per_epoch: PosInt = Field(4, le=1000)
    """Samples per epoch, evenly spaced."""

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value
