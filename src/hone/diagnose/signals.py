"""Numbers the rules share: curve trends, chance level, telemetry summaries."""

from __future__ import annotations

import math
import statistics
from itertools import pairwise
from typing import Any

from hone.diagnose.evidence import Evidence

__all__ = [
    "chance_accuracy",
    "fraction_rising",
    "grad_rms_by_layer",
    "last_epoch_activation",
    "median_update_ratio",
    "relative_drop",
    "tail",
]


def tail(values: list[float], share: float = 0.2, minimum: int = 3) -> list[float]:
    """The last ``share`` of a curve (at least ``minimum`` points, at most all of it)."""
    k = max(minimum, math.ceil(len(values) * share))
    return values[-k:]


def relative_drop(values: list[float]) -> float:
    """(first - last) / |first|: positive when the curve went down."""
    if len(values) < 2 or values[0] == 0:
        return 0.0
    return (values[0] - values[-1]) / abs(values[0])


def fraction_rising(values: list[float], tolerance: float = 0.05) -> float:
    """Share of steps where the value rose by more than ``tolerance`` relative to itself and
    to the curve's range (so wiggles near a loss of zero do not count)."""
    if len(values) < 2:
        return 0.0
    floor = tolerance * (max(values) - min(values))
    rises = sum(1 for a, b in pairwise(values) if b - a > tolerance * abs(a) and b - a > floor)
    return rises / (len(values) - 1)


def median_update_ratio(telemetry: dict[str, Any]) -> float | None:
    """Median over samples and layers of |weight update| / |weight| for one step."""
    ratios = [
        s["update_ratio"]
        for sample in telemetry.get("samples", [])
        for s in sample["layers"].values()
        if isinstance(s["update_ratio"], int | float) and math.isfinite(s["update_ratio"])
    ]
    return float(statistics.median(ratios)) if ratios else None


def chance_accuracy(ev: Evidence) -> float:
    """Accuracy of always predicting the training set's majority class."""
    counts = ev.data.get("stats", {}).get("train", {}).get("class_counts")
    if counts and sum(counts):
        return float(max(counts) / sum(counts))
    n = len(ev.data.get("classes", [])) or 2
    return 1.0 / n


def grad_rms_by_layer(telemetry: dict[str, Any]) -> dict[str, float]:
    """Median over samples of each layer's gradient RMS (norm / sqrt(parameters))."""
    per_layer: dict[str, list[float]] = {}
    for sample in telemetry.get("samples", []):
        for name, stats in sample["layers"].items():
            rms = stats["grad_norm"] / math.sqrt(max(stats.get("numel", 1), 1))
            per_layer.setdefault(name, []).append(rms)
    order = telemetry.get("layers", list(per_layer))
    return {name: float(statistics.median(per_layer[name])) for name in order if name in per_layer}


def last_epoch_activation(telemetry: dict[str, Any], key: str) -> dict[str, float]:
    """Activation statistic ``key`` per layer at the end of training: from the probe batch
    of fixed training rows when recorded, else the mean over the last epoch's samples."""
    at_end = telemetry.get("at_end") or {}
    if at_end:
        return {name: stats[key] for name, stats in at_end.items() if key in stats}
    samples = telemetry.get("samples", [])
    if not samples:
        return {}
    last = samples[-1]["epoch"]
    values: dict[str, list[float]] = {}
    for sample in samples:
        if sample["epoch"] != last:
            continue
        for name, stats in sample["activations"].items():
            if key in stats:
                values.setdefault(name, []).append(stats[key])
    return {name: statistics.fmean(v) for name, v in values.items()}
