"""A search space: one entry per config key, checked against the base config::

train.optimizer.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
model.hidden: {type: categorical, choices: [[64], [128], [64, 64]]}
train.batch_size: {type: int, low: 16, high: 256, log: true}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from hone.config import Config, load_config, read_yaml
from hone.errors import ConfigError

__all__ = ["ParamSpec", "load_space", "parse_space"]


@dataclass
class ParamSpec:
    key: str
    type: str  # float | int | categorical
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] = field(default_factory=list)

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.type == "categorical":
            encoded = trial.suggest_categorical(self.key, [json.dumps(c) for c in self.choices])
            return json.loads(str(encoded))
        low, high = float(self.low or 0.0), float(self.high or 0.0)
        if self.type == "float":
            return trial.suggest_float(self.key, low, high, log=self.log, step=self.step)
        step = int(self.step or 1)
        return trial.suggest_int(self.key, int(low), int(high), step=step, log=self.log)

    def grid_values(self) -> list[Any]:
        if self.type == "categorical":
            return [json.dumps(c) for c in self.choices]
        if self.step is None and self.type == "float":
            raise ConfigError(f"space.{self.key}: the grid sampler needs a step for floats")
        step = self.step or 1
        count = round((self.high - self.low) / step) + 1  # type: ignore[operator]
        values = [round(self.low + i * step, 12) for i in range(count)]  # type: ignore[operator]
        return [int(v) for v in values] if self.type == "int" else values

    def decode(self, value: Any) -> Any:
        return json.loads(value) if self.type == "categorical" else value


def load_space(path: Path, base: Config) -> list[ParamSpec]:
    return parse_space(read_yaml(path), base, str(path))


def parse_space(raw: Any, base: Config, origin: str = "space") -> list[ParamSpec]:
    """``{key: {type: float|int|categorical, low, high, log, step, choices}}`` checked against
    ``base`` (each key must exist in the config)."""
    if not raw or not isinstance(raw, dict):
        raise ConfigError(f"{origin}: the search space is empty; give one entry per config key")
    specs = []
    for key, entry in raw.items():
        where = f"{origin}: {key}"
        if not isinstance(entry, dict) or entry.get("type") not in ("float", "int", "categorical"):
            raise ConfigError(f"{where}: needs type: float | int | categorical")
        spec = ParamSpec(
            key,
            entry["type"],
            entry.get("low"),
            entry.get("high"),
            bool(entry.get("log", False)),
            entry.get("step"),
            list(entry.get("choices") or []),
        )
        if spec.type == "categorical" and not spec.choices:
            raise ConfigError(f"{where}: categorical needs choices: [...]")
        if spec.type != "categorical":
            if spec.low is None or spec.high is None or not spec.low < spec.high:
                raise ConfigError(f"{where}: needs low < high")
            if spec.log and spec.low <= 0:
                raise ConfigError(f"{where}: a log range needs low > 0")
        probe = spec.choices[0] if spec.choices else spec.low
        load_config(base, {key: probe})  # the key must exist in the config
        specs.append(spec)
    return specs
