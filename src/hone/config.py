"""The run configuration: a validated pydantic tree whose key names are hone's public contract.

``load_config`` accepts a YAML path, a mapping or a ``Config`` plus dotted overrides
(``{"train.optimizer.lr": 0.01}``) and returns a validated ``Config`` or raises ``ConfigError``
naming the offending path.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from hone.errors import ConfigError, suggest

__all__ = [
    "Config",
    "DataConfig",
    "ModelConfig",
    "OptimizerConfig",
    "PreprocessConfig",
    "SplitConfig",
    "TrainConfig",
    "apply_overrides",
    "default_config",
    "load_config",
    "parse_set",
]

DATASETS = (
    "blobs",
    "moons",
    "circles",
    "spiral",
    "xor",
    "digits",
    "mnist",
    "fashion_mnist",
    "csv",
    "npz",
    "regression",
    "image_folder",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SplitConfig(_Strict):
    """Fractions of the data for train/val/test; ``"6:2:2"`` is accepted too.

    Unset fractions are resolved by the data loader: ``test`` is fixed by the dataset for
    MNIST-style data, and otherwise whatever train and val leave over.
    """

    train: float | None = Field(None, gt=0, le=1)
    val: float | None = Field(None, ge=0, lt=1)
    test: float | None = Field(None, ge=0, lt=1)
    stratify: bool = True
    shuffle: bool = True
    seed: int = 0  # fixed apart from the run seed: seeds vary the model, not the data

    @model_validator(mode="before")
    @classmethod
    def _parse_ratio_string(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            parts = [float(p) for p in value.split(":")]
        except ValueError:
            raise ValueError(f"expected ratios like '6:2:2', got {value!r}") from None
        if len(parts) not in (2, 3) or any(p < 0 for p in parts) or sum(parts) <= 0:
            raise ValueError(f"expected 2 or 3 non-negative ratios like '6:2:2', got {value!r}")
        total = sum(parts)
        names = ("train", "test") if len(parts) == 2 else ("train", "val", "test")
        return {n: p / total for n, p in zip(names, parts, strict=True)}

    @model_validator(mode="after")
    def _check_sum(self) -> SplitConfig:
        given = [r for r in (self.train, self.val, self.test) if r is not None]
        total = sum(given)
        if len(given) == 3 and abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"train + val + test must sum to 1, got {total:g} "
                f"({self.train:g} + {self.val:g} + {self.test:g}); or use ratios like '6:2:2'"
            )
        if total > 1.0 + 1e-6:
            raise ValueError(f"split fractions sum to {total:g}, more than 1")
        return self


class PreprocessConfig(_Strict):
    scale: Literal["none", "standard", "minmax"] = "none"  # per channel for images
    grayscale: bool = False  # image_folder: drop colour (1 channel instead of 3)
    resize: tuple[PositiveInt, PositiveInt] | None = None  # image_folder: [H, W]
    resize_mode: Literal["stretch", "pad", "crop"] = "stretch"


class DataConfig(_Strict):
    dataset: Literal[DATASETS] = "blobs"  # type: ignore[valid-type]
    task: Literal["auto", "classification", "regression"] = "auto"
    params: dict[str, Any] = Field(default_factory=dict)
    path: str | None = None
    target: str | None = None
    split: SplitConfig = Field(default_factory=SplitConfig)
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    mirrors: list[str] | None = None  # override download mirrors (MNIST-style datasets)
    on_bad_image: Literal["error", "skip"] = "error"  # image_folder: unreadable files
    missing: Literal["error", "drop", "mean"] = "error"  # csv: empty/NA cells
    sampler: Literal["none", "balanced"] = "none"  # balanced: classes drawn equally often
    target_error: float | None = Field(None, ge=0, lt=1)  # best reachable error (human/Bayes)


BlockStep = Literal["dense", "norm", "activation", "dropout"]
DEFAULT_BLOCK_ORDER: tuple[BlockStep, ...] = ("dense", "norm", "activation", "dropout")


class ConvLayer(_Strict):
    """One convolution block: conv -> (norm) -> activation -> pool (-> dropout)."""

    filters: PositiveInt
    kernel: PositiveInt = 3
    stride: PositiveInt = 1
    padding: Literal["same", "valid"] | NonNegativeInt = "same"
    pool: Literal["none", "max2", "avg2"] = "none"


class ModelConfig(_Strict):
    kind: Literal["mlp", "cnn"] = "mlp"
    hidden: list[PositiveInt] = Field(default_factory=lambda: [25])
    conv: list[ConvLayer] = Field(default_factory=list)  # cnn: the convolution stack
    activation: str = "relu"
    negative_slope: float = Field(0.01, ge=0)  # leaky_relu (the MNIST book uses 0.02)
    alpha: float = Field(1.0, gt=0)  # elu
    pieces: int = Field(2, ge=2)  # maxout: linear pieces per unit
    output_activation: Literal["auto", "softmax", "sigmoid", "none"] = "auto"
    norm: Literal["none", "batch", "layer"] = "none"
    norm_position: Literal["before_activation", "after_activation"] = "before_activation"
    dropout: float = Field(0.0, ge=0, lt=1)
    # Order of the steps inside each hidden block. Default: dense, norm, activation, dropout
    # (norm_position: after_activation swaps norm and activation). The order recommended for
    # BatchNorm with dropout is [dropout, dense, norm, activation].
    block_order: list[BlockStep] | None = None
    init: str = "auto"
    bias_init: str = "zeros"
    init_value: float = 0.1  # for init/bias_init "constant"
    init_from: str | None = None  # a run id: start from its weights where names and shapes match
    init_from_skip: list[str] = Field(default_factory=list)  # layers to keep fresh, e.g. [output]
    freeze: list[str] | Literal["all_but_head"] | None = None  # layer names not to train

    @model_validator(mode="after")
    def _check_shape(self) -> ModelConfig:
        if self.kind == "cnn" and not self.conv:
            raise ValueError("kind 'cnn' needs a conv: list, e.g. [{filters: 32, pool: max2}]")
        if self.kind == "mlp" and self.conv:
            raise ValueError("conv: is only used with kind: cnn")
        if self.block_order is not None:
            order = self.block_order
            for step in ("dense", "activation"):
                if order.count(step) != 1:
                    raise ValueError(f"block_order must contain '{step}' exactly once: {order}")
            if len(set(order)) != len(order):
                raise ValueError(f"block_order repeats a step: {order}")
        return self

    def resolved_block_order(self) -> list[BlockStep]:
        if self.block_order is not None:
            return list(self.block_order)
        order = list(DEFAULT_BLOCK_ORDER)
        if self.norm_position == "after_activation":
            order[1], order[2] = "activation", "norm"
        return order

    @field_validator("init", "bias_init")
    @classmethod
    def _known_init(cls, name: str) -> str:
        from hone.nn.init import INITIALIZERS

        return INITIALIZERS.check(name)

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, name: str) -> str:
        from hone.nn.activations import ACTIVATIONS

        return ACTIVATIONS.check(name)


class _NamedWithOptions(BaseModel):
    """A registry ``name`` (``optimizer: adam`` is short for ``{name: adam}``) plus options
    that pass through to the named implementation, which validates them when a run is built."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class OptimizerConfig(_NamedWithOptions):
    """``name`` and ``lr``; other keys pass through to the ``torch.optim`` class."""

    name: str = "adam"
    lr: float = Field(0.001, gt=0)

    @field_validator("name")
    @classmethod
    def _known_optimizer(cls, name: str) -> str:
        from hone.train.optim import OPTIMIZERS

        return OPTIMIZERS.check(name)


class ScheduleConfig(_NamedWithOptions):
    """``name`` plus that schedule's settings (validated when the run is built)."""

    name: str = "constant"
    warmup_epochs: NonNegativeInt = 0  # linear warm-up in front of any schedule

    @field_validator("name")
    @classmethod
    def _known_schedule(cls, name: str) -> str:
        from hone.train.schedules import SCHEDULES

        return SCHEDULES.check(name)


class EarlyStoppingConfig(_Strict):
    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    min_delta: float = Field(0.0, ge=0)
    patience: NonNegativeInt = 10
    start_from_epoch: NonNegativeInt = 0
    restore_best: bool = True  # also when training ends without the stop firing


class GradClipConfig(_Strict):
    norm: float | None = Field(None, gt=0)  # clip the global gradient norm to this
    value: float | None = Field(None, gt=0)  # clip every gradient element to [-value, value]

    @model_validator(mode="after")
    def _one_of(self) -> GradClipConfig:
        if (self.norm is None) == (self.value is None):
            raise ValueError("give exactly one of norm or value, e.g. {norm: 1.0}")
        return self


class AugmentConfig(_Strict):
    """Label-preserving, batched transforms of training images (never val or test)."""

    hflip: bool = False
    vflip: bool = False
    rotate: float = Field(0.0, ge=0, le=180)  # up to +-degrees
    translate: float = Field(0.0, ge=0, lt=1)  # up to +-fraction of width/height
    scale: float = Field(0.0, ge=0, lt=1)  # zoom by a factor in [1-scale, 1+scale]
    crop_padding: NonNegativeInt = 0  # pad by this many pixels, then crop at a random offset
    brightness: float = Field(0.0, ge=0)  # add U(-b, b) per image
    noise: float = Field(0.0, ge=0)  # add N(0, noise^2) per pixel


class EnsembleConfig(_Strict):
    members: int = Field(5, ge=2)
    vary: Literal["seed", "init", "hyperparams"] = "seed"
    combine: Literal["mean_prob", "vote"] = "mean_prob"


class TrainConfig(_Strict):
    loss: str = "cross_entropy"
    label_smoothing: float = Field(0.0, ge=0, lt=1)  # cross_entropy
    # Weight each class's loss: "balanced" (n / (classes * count), as scikit-learn) or
    # {label: weight} with unlisted labels at 1.
    class_weight: Literal["balanced"] | dict[str, float] | None = None
    huber_delta: float = Field(1.0, gt=0)  # huber
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    batch_size: PositiveInt | Literal["full"] = 32
    epochs: PositiveInt = 100
    device: str = "auto"
    threads: PositiveInt | Literal["auto"] = "auto"  # CPU threads; auto: 1 for tiny models
    compile: bool = False  # torch.compile the model (pays off on GPUs and long runs)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # autocast on CUDA (fp16 with loss scaling)
    l1: float = Field(0.0, ge=0)  # adds l1 * sum|W| to the loss
    l2: float = Field(0.0, ge=0)  # adds (l2 / 2) * sum W^2 to the loss (not weight decay)
    regularize_bias: bool = False  # include biases and norm parameters in l1/l2
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    early_stopping: EarlyStoppingConfig | None = None
    grad_clip: GradClipConfig | None = None
    unfreeze_at_epoch: PositiveInt | None = None  # gradual unfreezing of model.freeze
    augment: AugmentConfig | None = None
    ensemble: EnsembleConfig | None = None

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

    @field_validator("loss")
    @classmethod
    def _known_loss(cls, name: str) -> str:
        from hone.train.losses import LOSSES

        return LOSSES.check(name)

    @field_validator("device")
    @classmethod
    def _known_device(cls, device: str) -> str:
        base = device.split(":", 1)[0]
        if base not in ("auto", "cpu", "cuda", "mps"):
            raise ValueError(f"expected auto, cpu, cuda (or cuda:N) or mps, got {device!r}")
        return device


class TelemetryConfig(_Strict):
    """Per-layer gradient/weight/activation statistics, sampled ``per_epoch`` times an epoch."""

    enabled: bool = True
    per_epoch: PositiveInt = 4

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value


class Config(_Strict):
    name: str = "run"
    seed: int = 0
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)  # or telemetry: false
    store: str | None = None  # default: $HONE_HOME, else ./hone-runs

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------------------------------------
# Loading, overrides and error messages


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers, so ``split: 6:2:2`` stays a string."""


_Loader.yaml_implicit_resolvers = {
    key: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)"
        r"(?:[eE][-+]?[0-9]+)|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def yaml_load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def default_config() -> dict[str, Any]:
    """The embedded default: the textbook's Keras baseline on make_blobs."""
    text = resources.files("hone").joinpath("defaults/blobs.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml_load(text)
    return data


def read_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p} (give the path of a YAML file)")
    try:
        data = yaml_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{p}: the top level must be a mapping of keys, got {type(data).__name__}"
        )
    return data


def parse_set(items: list[str]) -> dict[str, Any]:
    """Parse CLI ``--set key.path=value`` items; values are YAML (``[64,64]``, ``0.01``)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--set {item!r}: expected KEY=VALUE, e.g. --set train.optimizer.lr=0.01"
            )
        try:
            out[key.strip()] = yaml_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: value is not valid YAML: {exc}") from None
    return out


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted-key overrides applied (``a.b.c`` or ``a__b__c``)."""
    out = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        keys = dotted.replace("__", ".").split(".")
        node = out
        for i, key in enumerate(keys[:-1]):
            child = node.get(key)
            if isinstance(child, str):  # shorthand like ``optimizer: adam``
                child = {"name": child}
            elif child is None:
                child = {}
            elif not isinstance(child, dict):
                where = ".".join(keys[: i + 1])
                raise ConfigError(f"cannot set {dotted}: {where} is {child!r}, not a mapping")
            node[key] = child
            node = child
        node[keys[-1]] = value
    return out


def load_config(
    source: str | Path | Mapping[str, Any] | Config | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build a validated ``Config`` from a YAML path, mapping, Config or ``None`` (the default)."""
    origin = "config"
    if source is None:
        raw = default_config()
        origin = "config (the built-in blobs baseline)"
    elif isinstance(source, Config):
        raw = source.to_dict()
    elif isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
    else:
        raw = read_yaml(source)
        origin = str(source)
    if overrides:
        raw = apply_overrides(raw, overrides)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, origin)) from None


def format_validation_error(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid {origin}:"]
    for err in exc.errors():
        loc = tuple(str(part) for part in err["loc"])
        path = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            options = _field_names(loc[:-1])
            lines.append(f"  {path}: unknown key '{loc[-1]}'{suggest(loc[-1], options)}")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        quoted = err["type"] == "value_error" and repr(got) in msg
        shown = "" if isinstance(got, dict | list) or got is None or quoted else f" (got {got!r})"
        lines.append(f"  {path}: {msg}{shown}")
    return "\n".join(lines)


def _field_names(loc: tuple[str, ...]) -> list[str]:
    """The valid keys of the model found by following ``loc`` from ``Config``."""
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
