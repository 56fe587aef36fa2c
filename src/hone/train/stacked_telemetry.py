"""Telemetry of K stacked members, sampled on the stacked tensors in one pass per step.

Each member keeps its own ``MemberTelemetry``: its sampling schedule, its records, its
activation scale at init and at the end (taken on its own model), exactly what a run alone
records. Only the per-step samples differ in how they are taken: instead of K sets of hooks
and K x layers small norms, each with its own sync, ``StackedProbe`` computes every sampled
member's statistics on the stacked weights, gradients and activations at once and hands each
member its row. On a small model that is most of what telemetry costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from hone.train.callbacks.base import Callback
from hone.train.callbacks.telemetry import (
    Telemetry,
    activation_modules,
    layer_weight,
    measured_layers,
    member_activation_stats,
    member_grad_norms,
    members_layer_stats,
)
from hone.train.state import TrainState

__all__ = ["MemberTelemetry", "StackedForwardStats", "StackedProbe", "stacked_layers"]


class StackedForwardStats:
    """Every member's activation statistics on the probe rows ``x``, from one stacked forward
    pass in eval mode: what each member's telemetry takes at init and when live diagnosis
    reads it, with a forward pass and hooks of its own otherwise. Computed when a member
    first asks after the stacked weights changed (``stale``: the loop says so after every
    step and placement), then shared."""

    def __init__(self, stacked: nn.Module, x: torch.Tensor) -> None:
        self.stacked, self.x = stacked, x
        self._rows: dict[str, list[dict[str, float]]] | None = None

    @classmethod
    def of_members(
        cls, stacked: nn.Module, callbacks: Sequence[Sequence[Callback]]
    ) -> StackedForwardStats | None:
        """One for the probe rows of the first member whose telemetry has them (a member
        with others ``MemberTelemetry.share`` leaves to its own pass), else ``None``."""
        for cbs in callbacks:
            for cb in cbs:
                if isinstance(cb, MemberTelemetry) and cb.init_batch is not None:
                    return cls(stacked, cb.init_batch)
        return None

    def stale(self) -> None:
        """The weights changed (a step, a member placed in a slot): compute again."""
        self._rows = None

    def probes(self, x: torch.Tensor | None) -> bool:
        """``x`` is this object's probe rows (the same view of the same data)."""
        mine = self.x
        return x is not None and (x.data_ptr(), x.shape, x.stride(), x.device) == (
            mine.data_ptr(), mine.shape, mine.stride(), mine.device)  # fmt: skip

    def member(self, k: int) -> dict[str, dict[str, float]]:
        if self._rows is None:
            self._rows = self._compute()
        return {name: rows[k] for name, rows in self._rows.items()}

    def _compute(self) -> dict[str, list[dict[str, float]]]:
        stacked, acts = self.stacked, {}
        k = next(stacked.parameters()).shape[0]

        def hook(name: str) -> Any:
            def record(module: nn.Module, _inp: object, out: torch.Tensor) -> None:
                acts[name] = member_activation_stats(module, out)

            return record

        hooks = [m.register_forward_hook(hook(n)) for n, m in activation_modules(stacked).items()]
        was_training = stacked.training
        stacked.eval()  # BatchNorm's running statistics are not updated by looking
        try:
            with torch.no_grad():
                stacked(self.x.unsqueeze(0).expand(k, *self.x.shape))
        finally:
            for h in hooks:
                h.remove()
            stacked.train(was_training)
        return acts


class MemberTelemetry(Telemetry):
    """Telemetry of one stacked member: the stacked loop samples it (``StackedProbe``), so it
    has no per-batch hooks of its own, and takes its forward statistics from the stack's
    (``share``) while it trains in slot ``k``."""

    on_batch_begin = Callback.on_batch_begin
    on_batch_end = Callback.on_batch_end
    _shared: tuple[StackedForwardStats, int] | None = None

    def share(self, stats: StackedForwardStats | None, k: int) -> None:
        """Take forward statistics from ``stats``' row ``k`` where they are of the same
        probe rows."""
        self._shared = (stats, k) if stats is not None and stats.probes(self.init_batch) else None

    def _forward_stats(self, model: nn.Module, x: torch.Tensor) -> dict[str, dict[str, float]]:
        if self._shared is not None and x is self.init_batch:
            stats, k = self._shared
            return stats.member(k)
        return super()._forward_stats(model, x)

    def on_train_end(self, state: TrainState) -> None:
        # Its own pass at the end: a callback before this one may have just changed its
        # weights (early stopping restores the best), and its slot may hold another next.
        self._shared = None
        super().on_train_end(state)


def stacked_layers(member: nn.Module, stacked_params: Sequence[nn.Parameter]) -> dict[str, Any]:
    """Each telemetry layer of a member model (by its name there) -> the stacked parameter
    that holds its weight; the member's parameters are in the stacked ones' order."""
    index = {id(p): i for i, p in enumerate(member.parameters())}
    return {
        n: stacked_params[index[id(layer_weight(m))]] for n, m in measured_layers(member).items()
    }


class StackedProbe:
    """One sampled step of the members ``ks``: attach before the forward pass, ``finish``
    after the optimizer step (and after each member's ``state.step`` moved on)."""

    def __init__(self, stacked: nn.Module, layers: dict[str, Any], ks: list[int]) -> None:
        self.ks, self.layers = ks, layers
        first = next(iter(layers.values()))
        # Every member sampled (the common case: a stack's members share their steps): the
        # stacked tensors as they are, without copying them row by row.
        every = ks == list(range(len(first)))
        self.index = None if every else torch.tensor(ks, device=first.device)
        self.acts: dict[str, list[dict[str, float]]] = {}
        self.before = {n: self._rows(w.detach(), copy=True) for n, w in layers.items()}
        self.hooks = [
            module.register_forward_hook(self._hook(name))
            for name, module in activation_modules(stacked).items()
        ]

    def _rows(self, t: torch.Tensor, copy: bool = False) -> torch.Tensor:
        """The sampled members' rows of ``t`` (a copy where ``copy``)."""
        if self.index is not None:
            return t.index_select(0, self.index)
        return t.clone() if copy else t

    def _hook(self, name: str) -> Any:
        def hook(module: nn.Module, _inp: object, out: torch.Tensor) -> None:
            self.acts[name] = member_activation_stats(module, self._rows(out))

        return hook

    def finish(
        self,
        telemetries: Sequence[Telemetry | None],
        states: Sequence[TrainState],
        params: Sequence[nn.Parameter],
        loss: torch.Tensor,
    ) -> None:
        """Record member k's sample in ``telemetries[k]``, with ``loss[k]`` as its loss."""
        for h in self.hooks:
            h.remove()
        per_layer = members_layer_stats([
            (self._rows(w.detach()), self._rows(w.grad) if w.grad is not None else None,
             self.before[name])
            for name, w in self.layers.items()
        ])  # fmt: skip
        rows = dict(zip(self.layers, per_layer, strict=True))
        grads = [self._rows(p.grad) for p in params if p.grad is not None]
        norms = member_grad_norms(grads, len(self.ks))
        each_loss = loss.tolist()  # one conversion, not one per member
        for i, k in enumerate(self.ks):
            telemetry = telemetries[k]
            assert telemetry is not None
            layers = {name: stats[i] for name, stats in rows.items()}
            acts = {name: stats[i] for name, stats in self.acts.items()}
            telemetry.add_sample(states[k], layers, acts, norms[i], each_loss[k])
