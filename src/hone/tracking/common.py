"""What every tracking target shares: the check that its library is installed, the scalars of a
recorded run."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from typing import Any

from hone.errors import ConfigError, install_hint
from hone.store import RunRecord

__all__ = ["TARGETS", "epochs_of", "finite", "flatten", "require", "telemetry_scalars"]

TARGETS = ("tensorboard", "mlflow")


def require(package: str, what: str) -> None:
    """A clear error, with the install command that fits this install, when ``package`` is
    missing (checked before anything is written)."""
    if importlib.util.find_spec(package) is None:
        raise ConfigError(f"{what} needs the {package} package: {install_hint('tracking')}")


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"optimizer": {"lr": 0.1}}}`` -> ``{"train.optimizer.lr": 0.1}``."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def epochs_of(record: RunRecord) -> list[int]:
    return [int(e) for e in record.history.get("epoch", [])] or list(
        range(1, record.epochs_run + 1)
    )


def telemetry_scalars(samples: list[dict[str, Any]]) -> Iterator[tuple[str, float, int]]:
    """``(tag, value, step)`` for each layer's gradient norm and each activation's dead and
    saturated shares in the telemetry samples."""
    for sample in samples:
        step = int(sample.get("step") or 0)
        for layer, stats in (sample.get("layers") or {}).items():
            if finite(stats.get("grad_norm")):
                yield f"grad_norm/{layer}", float(stats["grad_norm"]), step
        for layer, stats in (sample.get("activations") or {}).items():
            for kind in ("dead", "saturated"):
                if finite(stats.get(kind)):
                    yield f"{kind}/{layer}", float(stats[kind]), step
