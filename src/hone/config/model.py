"""``model:`` — the network: MLP or CNN, activation, normalisation, dropout, initialisation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hone.config.names import ACTIVATIONS, INITIALIZERS, check_name
from hone.config.types import (
    Int,
    NonNegFinite,
    Strict,
    TensorFinite,
    TensorNonNeg,
    TensorPos,
    Text,
)

__all__ = ["DEFAULT_BLOCK_ORDER", "BlockStep", "ConvLayer", "ModelConfig"]

MAX_UNITS = 1_000_000  # per layer; the memory check at build time judges the whole model
MAX_LAYERS = 1000

BlockStep = Literal["dense", "norm", "activation", "dropout"]
DEFAULT_BLOCK_ORDER: tuple[BlockStep, ...] = ("dense", "norm", "activation", "dropout")

Units = Int  # bounded below where used


class ConvLayer(Strict):
    """One convolution block, built in the order of ``model.block_order`` (by default
    conv -> norm -> activation -> dropout), then the pool last: conv -> (norm) -> activation
    -> (dropout) -> pool."""

    filters: Int = Field(gt=0, le=65536)
    kernel: Int = Field(3, gt=0, le=1024)
    stride: Int = Field(1, gt=0, le=1024)
    padding: Literal["same", "valid"] | Int = "same"
    pool: Literal["none", "max2", "avg2"] = "none"

    @field_validator("padding")
    @classmethod
    def _padding(cls, value: str | int) -> str | int:
        if isinstance(value, int) and not 0 <= value <= 1024:
            raise ValueError(f"padding in pixels must be 0..1024, got {value}")
        return value


class ModelConfig(Strict):
    kind: Literal["mlp", "cnn"] = "mlp"
    hidden: list[Units] = Field(default_factory=lambda: [25], max_length=MAX_LAYERS)
    conv: list[ConvLayer] = Field(default_factory=list, max_length=100)  # cnn: the conv stack
    activation: Text = "relu"
    negative_slope: TensorNonNeg = 0.01  # leaky_relu (the MNIST book uses 0.02)
    alpha: TensorPos = 1.0  # elu
    pieces: Int = Field(2, ge=2, le=64)  # maxout: linear pieces per unit
    output_activation: Literal["auto", "softmax", "sigmoid", "none"] = "auto"
    norm: Literal["none", "batch", "layer"] = "none"
    norm_position: Literal["before_activation", "after_activation"] = "before_activation"
    dropout: NonNegFinite = Field(0.0, lt=1)
    # Order of the steps inside each hidden block. Default: dense, norm, activation, dropout
    # (norm_position: after_activation swaps norm and activation). The order recommended for
    # BatchNorm with dropout is [dropout, dense, norm, activation].
    block_order: list[BlockStep] | None = Field(None, max_length=4)
    init: Text = "auto"
    bias_init: Text = "zeros"
    init_value: TensorFinite = 0.1  # for init/bias_init "constant"
    init_from: Text | None = None  # a run id: start from its weights where names and shapes match
    init_from_skip: list[Text] = Field(default_factory=list)  # layers to keep fresh: [output]
    freeze: list[Text] | Literal["all_but_head"] | None = None  # layer names not to train

    @field_validator("hidden")
    @classmethod
    def _widths(cls, hidden: list[int]) -> list[int]:
        for i, units in enumerate(hidden):
            if not 1 <= units <= MAX_UNITS:
                raise ValueError(f"hidden[{i}] = {units}: a layer needs 1 to {MAX_UNITS:,} units")
        return hidden

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
        return check_name("initializer", name, INITIALIZERS)

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, name: str) -> str:
        return check_name("activation", name, ACTIVATIONS)
