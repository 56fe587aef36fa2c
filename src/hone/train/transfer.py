"""Transfer learning: start from an earlier run's weights, freeze layers, unfreeze later."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hone.errors import ConfigError
from hone.train.callbacks.base import Callback
from hone.train.state import TrainState

__all__ = ["Unfreeze", "freeze", "load_matching"]


def load_matching(model: nn.Module, weights: dict[str, torch.Tensor],
                  skip: list[str] | None = None) -> dict[str, list[str]]:  # fmt: skip
    """Copy every tensor whose name and shape match; report what was loaded, what was skipped
    (same name, other shape, e.g. an output layer for a different number of classes) and what
    kept its fresh initialisation (no such tensor in the source, or a layer in ``skip`` — a new
    head for a new task with as many classes as the old one)."""
    own = model.state_dict()
    report: dict[str, list[str]] = {"loaded": [], "skipped_shape": [], "reinitialised": []}
    fresh = tuple(f"{s}." for s in skip or [])
    with torch.no_grad():
        for name, tensor in own.items():
            source = None if name.startswith(fresh) else weights.get(name)
            if source is None:
                report["reinitialised"].append(name)
            elif source.shape != tensor.shape:
                report["skipped_shape"].append(
                    f"{name} {tuple(source.shape)} -> {tuple(tensor.shape)}"
                )
            else:
                tensor.copy_(source.to(tensor.device, tensor.dtype))
                report["loaded"].append(name)
    return report


def freeze(model: nn.Module, spec: list[str] | str) -> list[str]:
    """Stop gradients for the named layers (prefixes such as ``hidden1``), or for everything
    except the output layer with ``all_but_head``. Returns the frozen parameter names."""
    names = [n for n, _ in model.named_parameters()]
    if spec == "all_but_head":
        chosen = [n for n in names if not n.startswith("output.")]
    else:
        layers = {n.split(".")[0] for n in names} | {n.rsplit(".", 1)[0] for n in names}
        unknown = [s for s in spec if s not in layers]
        if unknown:
            raise ConfigError(
                f"model.freeze: no layer {', '.join(unknown)}; layers: "
                + ", ".join(sorted({n.split(".")[0] for n in names}))
            )
        chosen = [n for n in names if any(n == s or n.startswith(s + ".") for s in spec)]
    params = dict(model.named_parameters())
    for n in chosen:
        params[n].requires_grad_(False)
    return chosen


class Unfreeze(Callback):
    """Let every parameter train again from ``epoch`` on (gradual unfreezing)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_begin(self, state: TrainState) -> None:
        if state.epoch >= self.epoch:  # resumed after the unfreezing epoch
            self._unfreeze(state)

    def on_epoch_begin(self, state: TrainState) -> None:
        if state.epoch == self.epoch:
            self._unfreeze(state)

    def _unfreeze(self, state: TrainState) -> None:
        for p in state.model.parameters():
            p.requires_grad_(True)
        state.info["unfrozen_at_epoch"] = self.epoch

    def report(self) -> dict[str, Any]:
        return {"unfreeze_at_epoch": self.epoch}
