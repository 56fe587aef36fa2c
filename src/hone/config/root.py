"""The whole run configuration; its key names are hone's public contract."""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import Field, field_validator

from hone.config.data import DataConfig
from hone.config.model import ModelConfig
from hone.config.train import TelemetryConfig, TrainConfig
from hone.config.types import Seed, Strict, Text, or_shorthand

__all__ = ["Config", "TrackingTarget"]

TrackingTarget = Literal["tensorboard", "mlflow"]


_TARGETS = ["tensorboard", "mlflow"]


class Config(Strict):
    """A hone run: what to train on, the network, and how to train it."""

    name: Text = Field("run", max_length=200)
    """The run's name, shown in tables and reports."""
    seed: Seed = 0
    """Seeds the model's initialisation, batch order, dropout and augmentation (not the data
    split, which has its own data.split.seed)."""
    data: DataConfig = Field(default_factory=DataConfig)
    """Which dataset, how it is split and preprocessed."""
    model: ModelConfig = Field(default_factory=ModelConfig)
    """The network."""
    train: TrainConfig = Field(default_factory=TrainConfig)
    """How it is trained."""
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    """Per-layer statistics diagnosis reads; telemetry: false turns them off."""
    store: Text | None = None
    """The run store folder; default $HONE_HOME, else ./hone-runs. Relative to the config
    file's folder when written in a file."""
    log_to: dict[TrackingTarget, Text | None] = Field(
        default_factory=dict,
        json_schema_extra=or_shorthand(
            {"type": "array", "items": {"enum": _TARGETS}, "uniqueItems": True}
        ),
    )
    """Live tracking while the run trains: [tensorboard, mlflow], or {tensorboard: DIR,
    mlflow: URI}; defaults <store>/tensorboard and MLflow's own tracking URI."""

    @field_validator("log_to", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise ValueError("a list of targets (tensorboard, mlflow) or {target: location}")
            return dict.fromkeys(value)
        return value

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)
