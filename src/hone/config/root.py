"""The whole run configuration; its key names are hone's public contract."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import Field

from hone.config.data import DataConfig
from hone.config.model import ModelConfig
from hone.config.train import TelemetryConfig, TrainConfig
from hone.config.types import Seed, Strict, Text

__all__ = ["Config"]


class Config(Strict):
    name: Text = Field("run", max_length=200)
    seed: Seed = 0
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)  # or telemetry: false
    store: Text | None = None  # default: $HONE_HOME, else ./hone-runs

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)
