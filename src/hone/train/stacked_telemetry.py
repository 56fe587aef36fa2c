"""Telemetry of K stacked members, sampled on the stacked tensors in one pass per step.

Each member keeps its own ``MemberTelemetry``: its sampling schedule, its records, its
activation scale at init and at the end (taken on its own model), exactly what a run alone
records. Only the per-step samples differ in how they are taken: instead of K sets of hooks
and K x layers small norms, each with its own sync, ``StackedProbe`` computes every sampled
member's statistics on the stacked weights, gradients and activations at once and hands each
member its row. On a small model that is most of what telemetry costs. And a step's sample
waits (``SampledSteps``): an epoch's samples are computed together, one pass per statistic.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
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

__all__ = [
    "STASH_BYTES",
    "MemberTelemetry",
    "SampledSteps",
    "StackedProbe",
    "stacked_layers",
]

STASH_BYTES = 32 * 2**20  # what waiting samples may hold before they are computed


class MemberTelemetry(Telemetry):
    """Telemetry of one stacked member: the stacked loop samples it (``StackedProbe``), so it
    has no per-batch hooks of its own."""

    on_batch_begin = Callback.on_batch_begin
    on_batch_end = Callback.on_batch_end


def stacked_layers(member: nn.Module, stacked_params: Sequence[nn.Parameter]) -> dict[str, Any]:
    """Each telemetry layer of a member model (by its name there) -> the stacked parameter
    that holds its weight; the member's parameters are in the stacked ones' order."""
    index = {id(p): i for i, p in enumerate(member.parameters())}
    return {
        n: stacked_params[index[id(layer_weight(m))]] for n, m in measured_layers(member).items()
    }


@dataclass
class _Sample:
    """One sampled step's raw tensors, rows of the sampled members only."""

    telemetries: list[Telemetry]
    at: list[tuple[int, int, float]]  # each member's epoch, step and LR when it was taken
    loss: torch.Tensor
    layers: dict[str, tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]]
    acts: dict[str, torch.Tensor]
    grads: list[torch.Tensor]

    def copied(self) -> _Sample:
        """This sample with its own copies of what the next step changes in place (the
        weights, gradients and the loss row); activations are new tensors each pass. A layer's
        gradient is also in ``grads``: one copy serves both."""
        grads = {id(g): g.clone() for g in self.grads}

        def own(g: torch.Tensor | None) -> torch.Tensor | None:
            if g is None:
                return None
            copy = grads.get(id(g))
            return copy if copy is not None else g.clone()

        layers = {n: (w.clone(), own(g), before) for n, (w, g, before) in self.layers.items()}
        return _Sample(self.telemetries, self.at, self.loss.clone(), layers, self.acts,
                       list(grads.values()))  # fmt: skip

    def nbytes(self) -> int:
        """What it holds, each tensor once."""
        tensors = [*self.acts.values(), *self.grads, *(t for v in self.layers.values() for t in v)]
        unique = {id(t): t for t in tensors if t is not None}
        return sum(t.numel() * t.element_size() for t in unique.values())


class SampledSteps:
    """Sampled steps whose statistics wait to be computed together: a stack samples each
    member a few times an epoch, and each statistic costs a handful of small operations per
    step (most of a sampled step's cost on a CPU), so they are computed once for all the
    epoch's samples, in the order taken (``flush``: before the epoch's callbacks read them,
    before a member ends, and when they hold ``STASH_BYTES``). A step whose tensors alone
    hold more is computed at once, without copies."""

    def __init__(self, stacked: nn.Module) -> None:
        self.kinds = activation_modules(stacked)  # each activation's module: what it measures
        self.samples: list[_Sample] = []
        self.bytes = 0

    def add(self, sample: _Sample, shared: bool) -> None:
        """Keep ``sample`` to compute later (a copy where it ``shared`` tensors that the next
        step changes in place), or compute it at once when it alone holds more than
        ``STASH_BYTES`` (after those waiting, to keep the order; nothing moved yet)."""
        size = sample.nbytes()
        if self.bytes + size > STASH_BYTES:
            self.flush()
        if size > STASH_BYTES:
            self.samples.append(sample)
            self.flush()
            return
        self.samples.append(sample.copied() if shared else sample)
        self.bytes += size

    def settle(self) -> None:
        """``flush`` on the way out of a loop that failed: what was sampled is kept where
        it can be, and nothing raised here hides the error that ended the loop."""
        with contextlib.suppress(Exception):
            self.flush()

    def flush(self) -> None:
        """Compute the waiting samples' statistics and record each member's."""
        samples, self.samples, self.bytes = self.samples, [], 0
        if not samples:
            return
        rows = sum(len(s.telemetries) for s in samples)
        names = list(samples[0].layers)
        per_layer = members_layer_stats([_joined(samples, n) for n in names])
        acts = {n: _activation_rows(m, [s.acts[n] for s in samples]) for n, m in self.kinds.items()
                if n in samples[0].acts}  # fmt: skip
        if len({len(s.grads) for s in samples}) == 1:
            grads = [torch.cat([s.grads[i] for s in samples]) for i in range(len(samples[0].grads))]
            norms = member_grad_norms(grads, rows)
        else:  # a parameter had no gradient at some steps: each step's own norms
            norms = [n for s in samples for n in member_grad_norms(s.grads, len(s.telemetries))]
        losses = torch.cat([s.loss for s in samples]).tolist()
        r = 0
        for s in samples:
            for telemetry, at in zip(s.telemetries, s.at, strict=True):
                # Sampling stops at a member's first non-finite sample (``Telemetry``).
                if telemetry.non_finite_at is None:
                    layers = {n: stats[r] for n, stats in zip(names, per_layer, strict=True)}
                    act = {n: stats[r] for n, stats in acts.items()}
                    telemetry.add_sample(None, layers, act, norms[r], losses[r], at=at)
                r += 1


def _joined(
    samples: list[_Sample], name: str
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Layer ``name``'s (weight, grad, weight before) rows of every sample, one after the
    other (a missing gradient counts as zero, as ``members_layer_stats`` counts it)."""
    weights = torch.cat([s.layers[name][0] for s in samples])
    grads = [s.layers[name][1] for s in samples]
    grad = None
    if any(g is not None for g in grads):
        grad = torch.cat([g if g is not None else torch.zeros_like(s.layers[name][0])
                          for g, s in zip(grads, samples, strict=True)])  # fmt: skip
    return weights, grad, torch.cat([s.layers[name][2] for s in samples])


def _activation_rows(module: nn.Module, outs: list[torch.Tensor]) -> list[dict[str, float]]:
    """``member_activation_stats`` of every sample's rows, in order: one call per batch
    shape (an epoch's last batch may be smaller)."""
    stats: list[dict[str, float]] = []
    start = 0
    while start < len(outs):
        end = start
        while end < len(outs) and outs[end].shape[1:] == outs[start].shape[1:]:
            end += 1
        stats += member_activation_stats(module, torch.cat(outs[start:end]))
        start = end
    return stats


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
        self.acts: dict[str, torch.Tensor] = {}
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
            self.acts[name] = self._rows(out.detach())  # a new tensor each pass: kept as is

        return hook

    def finish(
        self,
        telemetries: Sequence[Telemetry | None],
        states: Sequence[TrainState],
        params: Sequence[nn.Parameter],
        loss: torch.Tensor,
        steps: SampledSteps,
    ) -> None:
        """Member k's sample, for ``telemetries[k]`` with ``loss[k]`` as its loss, to
        ``steps``."""
        for h in self.hooks:
            h.remove()
        members = [telemetries[k] for k in self.ks]
        at = [(states[k].epoch, states[k].step, states[k].optimizer.param_groups[0]["lr"])
              for k in self.ks]  # fmt: skip
        layers = {n: (self._rows(w.detach()), self._rows(w.grad) if w.grad is not None else None,
                      self.before[n]) for n, w in self.layers.items()}  # fmt: skip
        grads = [self._rows(p.grad) for p in params if p.grad is not None]
        sample = _Sample([t for t in members if t is not None], at, self._rows(loss), layers,
                         self.acts, grads)  # fmt: skip
        assert len(sample.telemetries) == len(self.ks), "a sampled member has no telemetry"
        steps.add(sample, shared=self.index is None)  # rows taken by index are copies already
