"""Did the fault really materialise? Checked in the run itself, without hone's rules.

Most faults must hurt: the validation metric is worse than the healthy twin's (the family's
healthy config, same seed) by a clear margin, or the run diverged. Some are checked by the
property they break, read from the trained model (dead or saturated units, identical units),
and the data faults by what they do to the predictions. A case whose check fails is ``weak``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import hone
from benchmarks.faultgen.data import DataRecipe, base_arrays
from benchmarks.faultgen.families import Family

__all__ = ["ACC_MARGIN", "TRUTHS", "Evidence", "metric_gap", "value"]

ACC_MARGIN = 0.03  # accuracy lost against the twin for a fault to count as real
LOSS_RATIO = 1.25  # regression: val MSE at least this many times the twin's (and +0.02)


@dataclass
class Evidence:
    """What a truth check may read: the run, its healthy twin and where the data came from."""

    result: Any  # hone.RunResult
    twin: Any  # hone.RunResult of the family's healthy config, same seed
    family: Family
    store: Path
    recipe: DataRecipe | None = None
    strength: dict[str, Any] | None = None


def value(result: Any, metric: str) -> float:
    """The metric, or the worst value when the run has none (diverged, NaN)."""
    v = result.metrics.get(metric) if result is not None else None
    worst = 0.0 if "acc" in metric else math.inf
    if isinstance(v, int | float) and math.isfinite(v):
        return float(v)
    return worst


def metric_gap(result: Any, twin: Any, metric: str) -> float:
    """How much worse ``result`` is than ``twin``: accuracy points, or the MSE ratio - 1."""
    a, b = value(result, metric), value(twin, metric)
    if "acc" in metric:
        return b - a
    return (a - 0.02) / max(b, 1e-9) - 1.0 if math.isfinite(a) else math.inf


def _hurt(ev: Evidence) -> tuple[bool, dict[str, Any]]:
    metric = ev.family.metric
    gap = metric_gap(ev.result, ev.twin, metric)
    margin = ACC_MARGIN if "acc" in metric else LOSS_RATIO - 1.0
    diverged = ev.result.status == "diverged"
    return diverged or gap >= margin, {"gap_to_twin": _num(gap), "status": ev.result.status}


def _loaded(ev: Evidence) -> nn.Module:
    return hone.load(ev.result.run_id, store=ev.store).module


def _probe_inputs(ev: Evidence, rows: int = 512) -> torch.Tensor:
    x, _ = ev.recipe.arrays()[0] if ev.recipe is not None else base_arrays(*ev.family.arrays_key())
    return torch.as_tensor(np.asarray(x[:rows], dtype=np.float32))


def _activations(
    module: nn.Module, kinds: tuple[type[nn.Module], ...], x: torch.Tensor
) -> list[torch.Tensor]:
    """The outputs of every activation module of the given kinds on inputs ``x``."""
    outs: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: outs.append(o.detach()))
        for m in module.modules()
        if isinstance(m, kinds)
    ]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for h in hooks:
            h.remove()
    return outs


def _unit_share(outs: list[torch.Tensor], bad: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """The share of units (channels for conv maps) for which ``bad`` holds on every input."""
    flags = []
    for o in outs:
        per_unit = bad(o).transpose(0, 1).reshape(o.shape[1], -1).all(1)
        flags.append(per_unit.float())
    return float(torch.cat(flags).mean()) if flags else 0.0


def _hurt_or_dead(ev: Evidence) -> tuple[bool, dict[str, Any]]:
    hurt, detail = _hurt(ev)
    outs = _activations(_loaded(ev), (nn.ReLU,), _probe_inputs(ev))
    dead = _unit_share(outs, lambda o: o <= 0)
    return hurt or dead >= 0.5, {**detail, "dead_share": round(dead, 3)}


def _hurt_or_saturated(ev: Evidence) -> tuple[bool, dict[str, Any]]:
    hurt, detail = _hurt(ev)
    outs = _activations(_loaded(ev), (nn.Sigmoid, nn.Tanh), _probe_inputs(ev))
    share = (
        float(
            np.mean(
                [
                    (o.abs() > 0.96).float().mean().item()
                    if o.min() < 0
                    else ((o < 0.02) | (o > 0.98)).float().mean().item()
                    for o in outs
                ]
            )
        )
        if outs
        else 0.0
    )
    return hurt or share >= 0.5, {**detail, "saturated_share": round(share, 3)}


def _hurt_or_identical(ev: Evidence) -> tuple[bool, dict[str, Any]]:
    hurt, detail = _hurt(ev)
    first = next(m for m in _loaded(ev).modules() if isinstance(m, nn.Linear | nn.Conv2d))
    w = first.weight.detach().reshape(first.weight.shape[0], -1)
    same = bool((w - w[0]).abs().max() < 1e-6)
    return hurt or same, {**detail, "identical_units": same}


def _minority_missed(ev: Evidence) -> tuple[bool, dict[str, Any]]:
    """Accuracy looks good while most fresh minority rows are called the majority class."""
    assert ev.recipe is not None
    _, (x, y) = ev.recipe.arrays()
    acc = value(ev.result, "val_accuracy")
    if not len(y):
        return False, {"val_accuracy": acc, "minority_recall": None}
    probs = hone.load(ev.result.run_id, store=ev.store).predict(x)
    recall = float((probs.argmax(1) == y).mean())
    return acc >= 0.85 and recall < 0.6, {"val_accuracy": _num(acc), "minority_recall": recall}


def _gap(ev: Evidence) -> tuple[bool, dict[str, Any]]:
    """Memorised: train far better than validation."""
    m = ev.result.metrics
    if ev.family.dataset.regression:
        tr, va = m.get("train_loss", math.nan), m.get("val_loss", math.nan)
        holds = va >= 3 * tr and va - tr >= 0.1
    else:
        tr, va = m.get("train_accuracy", math.nan), m.get("val_accuracy", math.nan)
        holds = tr - va >= 0.08
    return bool(holds), {"train": _num(tr), "val": _num(va)}


CONTROL_GAP = 0.05


def _trains(ev: Evidence) -> tuple[bool, dict[str, Any]]:
    """A healthy control learns — clearly better than the majority class or the mean — and
    generalises: training accuracy no more than ``CONTROL_GAP`` above validation accuracy (a
    control that memorises is not healthy, it is an overfitting case)."""
    if ev.family.dataset.regression:
        loss = value(ev.result, "val_loss")
        return loss < 0.5, {"val_loss": _num(loss)}
    _, y = base_arrays(*ev.family.arrays_key())
    majority = float(np.bincount(y).max() / len(y))
    acc = value(ev.result, "val_accuracy")
    gap = value(ev.result, "train_accuracy") - acc
    learns = acc >= majority + 0.5 * (1 - majority)
    return learns and gap <= CONTROL_GAP, {"val_accuracy": acc, "majority": majority,
                                           "train_val_gap": _num(gap)}  # fmt: skip


def _at_noise_floor(ev: Evidence) -> tuple[bool, dict[str, Any]]:
    """The model learned the clean signal and not the flipped labels: scored against the
    *clean* labels of every row it saw or was validated on, it is about as good as the twin
    is on clean validation data. (Memorised flips, or stopping before the signal was learned,
    both show up here as a lower clean accuracy.)"""
    assert ev.recipe is not None
    (x, _), _ = ev.recipe.arrays()
    _, clean = base_arrays(*ev.family.arrays_key())
    probs = hone.load(ev.result.run_id, store=ev.store).predict(x)
    clean_acc = float((probs.argmax(1) == clean).mean())
    twin = value(ev.twin, "val_accuracy")
    return clean_acc >= twin - 0.05, {
        "clean_accuracy": round(clean_acc, 4),
        "twin": twin,
        "val_accuracy": value(ev.result, "val_accuracy"),
    }


def _num(v: float) -> float | None:
    return round(float(v), 4) if isinstance(v, int | float) and math.isfinite(v) else None


TRUTHS: dict[str, Callable[[Evidence], tuple[bool, dict[str, Any]]]] = {
    "hurt": _hurt,
    "hurt_or_dead": _hurt_or_dead,
    "hurt_or_saturated": _hurt_or_saturated,
    "hurt_or_identical": _hurt_or_identical,
    "minority_missed": _minority_missed,
    "gap": _gap,
    "trains": _trains,
    "at_noise_floor": _at_noise_floor,
}
