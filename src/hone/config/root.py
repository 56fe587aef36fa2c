"""The whole run configuration; its key names are hone's public contract."""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import Field, field_validator

from hone.config.data import DataConfig
from hone.config.model import ModelConfig
from hone.config.train import TelemetryConfig, TrainConfig
from hone.config.types import Seed, Strict, Text

__all__ = ["Config", "TrackingTarget"]

TrackingTarget = Literal["tensorboard", "mlflow"]


class Config(Strict):
    name: Text = Field("run", max_length=200)
    seed: Seed = 0
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)  # or telemetry: false
    store: Text | None = None  # default: $HONE_HOME, else ./hone-runs
    # Live tracking while the run trains: [tensorboard, mlflow], or {tensorboard: DIR,
    # mlflow: URI}; defaults <store>/tensorboard and MLflow's own tracking URI.
    log_to: dict[TrackingTarget, Text | None] = Field(default_factory=dict)

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
