"""What a run's task means for its training: the concrete loss (``train.loss: auto``), the
settings that need classes (refused on a regression), and the target scaling a regression
model ends with (``data.preprocess.target_scale``, ``hone.nn.target``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hone.config import Config
from hone.config.names import REGRESSION_LOSSES
from hone.data import DataBundle
from hone.data.load import DECIDED_FROM_TARGET
from hone.errors import ConfigError
from hone.train.losses import resolve_loss

__all__ = ["check_regression_settings", "resolved_config", "target_scale"]


def resolved_config(cfg: Config, data: DataBundle) -> Config:
    """``cfg`` as the run trains it, and records it: ``train.loss: auto`` made concrete and,
    where the data decided it, ``data.task``."""
    loss = resolve_loss(cfg.train.loss, data.task)
    task = data.task if cfg.data.dataset in DECIDED_FROM_TARGET else cfg.data.task
    if (loss, task) == (cfg.train.loss, cfg.data.task):
        return cfg
    return cfg.model_copy(update={"train": cfg.train.model_copy(update={"loss": loss}),
                                  "data": cfg.data.model_copy(update={"task": task})})  # fmt: skip


# Settings that only mean something with classes: key -> (is it set?, what it does, the fix).
_CLASS_ONLY: dict[str, tuple[Callable[[Config], bool], str, str]] = {
    "train.class_weight": (lambda c: c.train.class_weight is not None, "weights classes",
                           "remove train.class_weight"),
    "data.sampler": (lambda c: c.data.sampler == "balanced", "draws classes equally often",
                     "remove data.sampler (or set it to none)"),
    "train.label_smoothing": (lambda c: c.train.label_smoothing > 0, "smooths class labels",
                              "remove train.label_smoothing (or set it to 0)"),
}  # fmt: skip


def check_regression_settings(cfg: Config, data: DataBundle) -> None:
    """Refuse settings that need classes on a regression task, naming the key, the fix and,
    when ``data.task: auto`` decided the task, why it is a regression. (``data.split.stratify:
    true`` is ignored by the loader instead, with a note: it changes nothing there.)"""
    if data.task != "regression":
        return
    decided = (data.report.get("task") or {}).get("reason")
    why = f" ({decided}; data.task: classification if it is not)" if decided else ""
    if cfg.train.loss not in REGRESSION_LOSSES:
        raise ConfigError(
            f"train.loss: {cfg.train.loss} is a classification loss, and this is a regression "
            f"task{why}; use one of {', '.join(REGRESSION_LOSSES)} (or auto: mse)"
        )
    for key, (used, does, fix) in _CLASS_ONLY.items():
        if used(cfg):
            raise ConfigError(f"{key}: {does}, and this is a regression task{why}; {fix}")


def target_scale(
    data: DataBundle, output_activation: str, notes: dict[str, Any]
) -> tuple[DataBundle, dict[str, Any] | None]:
    """The fitted target scaler the model ends with (``hone.nn.target``), if any. An output
    activation other than none bounds the outputs to the targets' own range, so scaling is
    then left out, from the recorded data too, and the run says so."""
    target = data.preprocess.get("target")
    if target is None:
        return data, None
    if output_activation != "none":
        kept = {k: v for k, v in data.preprocess.items() if k != "target"}
        notes["target_scale"] = (
            f"not applied: model.output_activation {output_activation} bounds the outputs to "
            "the targets' own range"
        )
        return dataclasses.replace(data, preprocess=kept), None
    notes["target_scale"] = {"mean": target["shift"], "std": target["scale"]}
    return data, target
