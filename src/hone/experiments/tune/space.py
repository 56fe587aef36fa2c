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


FIELDS = ("type", "low", "high", "log", "step", "choices")
EXAMPLE = "train.optimizer.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}"


def load_space(path: Path, base: Config) -> list[ParamSpec]:
    if not path.is_file():
        raise ConfigError(f"--space: space file not found: {path}")
    if not path.read_text(errors="replace").strip():
        raise ConfigError(f"--space {path}: the file is empty; give one entry per config key to "
                          f"search, e.g. {EXAMPLE}")  # fmt: skip
    return parse_space(read_yaml(path), base, str(path))


def parse_space(raw: Any, base: Config, origin: str = "space") -> list[ParamSpec]:
    """``{key: {type: float|int|categorical, low, high, log, step, choices}}`` checked against
    ``base``: each key must exist in the config, and every value a trial can draw (both ends
    of a range, every choice) must be one it accepts, so a study never stops half-way."""
    if not raw or not isinstance(raw, dict):
        raise ConfigError(f"{origin}: the search space is empty; give one entry per config key, "
                          f"e.g. {EXAMPLE}")  # fmt: skip
    specs = []
    for key, entry in raw.items():
        spec = _spec(str(key), entry, f"{origin}: {key}")
        _probe(spec, base, f"{origin}: {key}")
        specs.append(spec)
    return specs


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _spec(key: str, entry: Any, where: str) -> ParamSpec:
    """One entry, its fields checked (a misspelt field was ignored: ``lgo: true`` searched
    a linear range)."""
    if not isinstance(entry, dict) or entry.get("type") not in ("float", "int", "categorical"):
        raise ConfigError(f"{where}: needs type: float | int | categorical")
    unknown = [str(f) for f in entry if f not in FIELDS]
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}; valid: {', '.join(FIELDS)}")
    if entry["type"] == "categorical":
        if not isinstance(entry.get("choices"), list) or not entry["choices"]:
            raise ConfigError(f"{where}: categorical needs choices: [...]")
        return ParamSpec(key, "categorical", choices=list(entry["choices"]))
    low, high, step, log = entry.get("low"), entry.get("high"), entry.get("step"), entry.get("log")
    if not (_number(low) and _number(high)) or not low < high:  # type: ignore[operator]
        raise ConfigError(f"{where}: needs numbers low < high (got low {low!r}, high {high!r})")
    if log is not None and not isinstance(log, bool):
        raise ConfigError(f"{where}: log is true or false (got {log!r})")
    if log and low <= 0:  # type: ignore[operator]
        raise ConfigError(f"{where}: a log range needs low > 0")
    if step is not None and (not _number(step) or step <= 0 or log):
        raise ConfigError(f"{where}: step must be a number > 0, and not with log: true "
                          f"(got step {step!r})")  # fmt: skip
    if entry["type"] == "int" and not all(
        float(v).is_integer() for v in (low, high, step) if v is not None
    ):
        raise ConfigError(f"{where}: an int range needs whole numbers (use type: float)")
    return ParamSpec(key, entry["type"], low, high, bool(log), step)


def _probe(spec: ParamSpec, base: Config, where: str) -> None:
    """The config must take every value a trial can draw: both ends (and, for floats, one
    between them, which a key of whole numbers refuses), or every choice."""
    if spec.type == "categorical":
        values = spec.choices
    else:
        low, high = float(spec.low), float(spec.high)  # type: ignore[arg-type]
        values = [int(low), int(high)] if spec.type == "int" else [low, high]
        if spec.type == "float" and spec.step is None:
            values.append(low + (high - low) * 0.3819660113)  # not a whole number, as drawn
    for value in values:
        try:
            load_config(base, {spec.key: value})  # the key must exist, the value be valid
        except ConfigError as exc:
            hint = (" (a key of whole numbers: use type: int)"
                    if spec.type == "float" and "whole number" in str(exc) else "")  # fmt: skip
            shown = f"{value:.6g}" if isinstance(value, float) else repr(value)
            raise ConfigError(f"{where}: a trial could draw {shown}, which the config "
                              f"refuses: {exc}{hint}") from None  # fmt: skip
