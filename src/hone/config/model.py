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
    names_schema,
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
    """Output channels of the convolution (required)."""
    kernel: Int = Field(3, gt=0, le=1024)
    """Kernel size in pixels (square)."""
    stride: Int = Field(1, gt=0, le=1024)
    """Step between kernel positions."""
    padding: Literal["same", "valid"] | Int = Field(
        "same", json_schema_extra={"minimum": 0, "maximum": 1024}
    )
    """same keeps the size, valid pads nothing, or a number of pixels (0..1024)."""
    pool: Literal["none", "max2", "avg2"] = "none"
    """A 2x2 max or average pool after the block (halves height and width)."""

    @field_validator("padding")
    @classmethod
    def _padding(cls, value: str | int) -> str | int:
        if isinstance(value, int) and not 0 <= value <= 1024:
            raise ValueError(f"padding in pixels must be 0..1024, got {value}")
        return value


class ModelConfig(Strict):
    """The network: an MLP or a CNN, its activation, normalisation, dropout and initialisation."""

    kind: Literal["mlp", "cnn"] = "mlp"
    """mlp: dense layers only; cnn: the conv stack, then the dense head."""
    hidden: list[Units] = Field(
        default_factory=lambda: [25],
        max_length=MAX_LAYERS,
        json_schema_extra={"items": {"type": "integer", "minimum": 1, "maximum": MAX_UNITS}},
    )
    """Widths of the hidden dense layers (1 to 1,000,000 units each); for cnn, the dense head."""
    conv: list[ConvLayer] = Field(default_factory=list, max_length=100)
    """cnn: the convolution blocks, e.g. [{filters: 32, kernel: 3, pool: max2}]."""
    activation: Text = Field("relu", json_schema_extra=names_schema(ACTIVATIONS))
    """The hidden layers' activation."""
    negative_slope: TensorNonNeg = 0.01
    """leaky_relu: the slope for negative inputs (the MNIST book uses 0.02)."""
    alpha: TensorPos = 1.0
    """elu: the saturation value for negative inputs."""
    pieces: Int = Field(2, ge=2, le=64)
    """maxout: linear pieces per unit (the layer before it has units x pieces outputs)."""
    output_activation: Literal["auto", "softmax", "sigmoid", "none"] = "auto"
    """auto: softmax for cross_entropy, sigmoid for bce and mse, none for a regression."""
    norm: Literal["none", "batch", "layer"] = "none"
    """Normalisation in each hidden block (layer norm on feature maps is GroupNorm with one
    group)."""
    norm_position: Literal["before_activation", "after_activation"] = "before_activation"
    """Where the norm sits relative to the activation (when block_order is not given)."""
    dropout: NonNegFinite = Field(0.0, lt=1)
    """Inverted dropout rate in each hidden block (off in evaluation)."""
    block_order: list[BlockStep] | None = Field(None, max_length=4)
    """Order of the steps inside each hidden block. Default: dense, norm, activation, dropout
    (norm_position: after_activation swaps norm and activation). The order recommended for
    BatchNorm with dropout is [dropout, dense, norm, activation]."""
    init: Text = Field("auto", json_schema_extra=names_schema(INITIALIZERS))
    """Weight initialisation; auto: He for the ReLU family, Xavier for sigmoid and tanh."""
    bias_init: Text = Field("zeros", json_schema_extra=names_schema(INITIALIZERS))
    """Bias initialisation (any init name)."""
    init_value: TensorFinite = 0.1
    """The value for init or bias_init: constant."""
    init_from: Text | None = None
    """A run id: start from its weights wherever layer names and shapes match (transfer)."""
    init_from_skip: list[Text] = Field(default_factory=list)
    """Layers to keep fresh with init_from, e.g. [output] for a new head of the same size."""
    freeze: list[Text] | Literal["all_but_head"] | None = None
    """Layers not to train: all_but_head, or a list of layer names such as [hidden1]."""

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
