"""The per-member pieces of the stacked loop (``hone.train.stacked``).

Each member carries its own numbers (``Numbers``: L1/L2, gradient clipping, label smoothing,
dropout rate); ``Rows`` holds them as ``(K,)`` columns the stacked step reads, and changes a
slot's row when a new member takes it. Each member's loss, penalty and clipping are computed
on the stacked tensors at once, each with its own numbers, as the member alone would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hone.data.base import Split
from hone.nn.stack import StackedDropout
from hone.train.losses import LossFn
from hone.train.stacked_optim import MemberwiseOptimizer

__all__ = [
    "EpochNumbers",
    "Numbers",
    "Rows",
    "clip_members",
    "epoch_numbers",
    "evaluate_members",
    "follow_schedule",
    "member_optimizer_state",
    "penalty_rows",
    "per_member",
    "smoothed_cross_entropy",
]


@dataclass(frozen=True)
class Numbers:
    """A member's own numbers beyond its optimizer's (which its optimizer carries)."""

    l1: float = 0.0
    l2: float = 0.0
    clip_norm: float | None = None
    clip_value: float | None = None
    smoothing: float = 0.0  # label smoothing (read by a loss made per member)
    dropout: float = 0.0  # every dropout layer's rate

    @property
    def penalized(self) -> bool:
        return bool(self.l1 or self.l2)


class Rows:
    """Every slot's numbers as ``(K,)`` columns on the device; ``assign`` changes a slot."""

    def __init__(self, numbers: Sequence[Numbers], stacked: nn.Module,
                 device: torch.device) -> None:  # fmt: skip
        def column(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32, device=device)

        inf = float("inf")
        self.l1, self.l2 = column([n.l1 for n in numbers]), column([n.l2 for n in numbers])
        self.clip_norm = column([inf if n.clip_norm is None else n.clip_norm for n in numbers])
        self.clip_value = column([inf if n.clip_value is None else n.clip_value for n in numbers])
        self.smoothing = column([n.smoothing for n in numbers])
        self.dropouts = [m for m in stacked.modules() if isinstance(m, StackedDropout)]
        self.numbers = list(numbers)

    def assign(self, k: int, numbers: Numbers) -> None:
        inf = float("inf")
        self.l1[k], self.l2[k] = numbers.l1, numbers.l2
        self.clip_norm[k] = inf if numbers.clip_norm is None else numbers.clip_norm
        self.clip_value[k] = inf if numbers.clip_value is None else numbers.clip_value
        self.smoothing[k] = numbers.smoothing
        for module in self.dropouts:
            module.set_rate(k, numbers.dropout)
        self.numbers[k] = numbers

    @property
    def penalized(self) -> bool:
        return any(n.penalized for n in self.numbers)

    @property
    def clipped(self) -> tuple[bool, bool]:
        """Whether any slot clips by norm, by value."""
        return (any(n.clip_norm is not None for n in self.numbers),
                any(n.clip_value is not None for n in self.numbers))  # fmt: skip


def per_member(
    loss_fn: LossFn,
    means: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
    smoothed: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Each member's loss, (K,): ``smoothed`` (each member's own label smoothing) where
    given, else every member's mean in one call (``losses.member_means``) where there is one, else
    ``torch.func.vmap`` of the loss, else one call per member."""
    if smoothed is not None:
        return smoothed
    vectorised: Any = torch.func.vmap(loss_fn)

    def losses(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        nonlocal vectorised
        if means is not None:
            return means(logits, target)
        if vectorised is not None:
            try:
                return vectorised(logits, target)  # type: ignore[no-any-return]
            except RuntimeError:  # an op vmap cannot batch (e.g. masked_select)
                vectorised = None
        return torch.stack([loss_fn(logits[k], target[k]) for k in range(len(logits))])

    return losses


def smoothed_cross_entropy(rows: Rows) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy on softmax outputs with member ``k``'s label smoothing
    ``rows.smoothing[k]`` (read at each call: a refilled slot changes it). torch's
    definition: ``(1 - e)`` times the negative log-likelihood plus ``e`` times the mean over
    classes of ``-log p``; where no member smooths, torch's own fused cross-entropy."""

    def losses(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if not any(n.smoothing for n in rows.numbers):
            k, b = logits.shape[:2]
            each = F.cross_entropy(logits.flatten(0, 1), target.flatten(0, 1), reduction="none")
            return each.view(k, b).mean(1)
        logp = F.log_softmax(logits, dim=-1)
        nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # (K, batch)
        uniform = -logp.mean(-1)
        e = rows.smoothing.view(-1, 1)
        return ((1 - e) * nll + e * uniform).mean(1)

    return losses


def penalty_rows(weights: Sequence[torch.Tensor], rows: Rows) -> torch.Tensor:
    """Per member ``[l1 * sum|W|, l2 / 2 * sum W^2]`` over the penalised weights: (K, 2)."""
    k = weights[0].shape[0]
    zero = torch.zeros(k, device=weights[0].device)
    l1, l2 = any(n.l1 for n in rows.numbers), any(n.l2 for n in rows.numbers)
    a = sum((w.abs().reshape(k, -1).sum(1) for w in weights), zero) * rows.l1 if l1 else zero
    b = sum((w.pow(2).reshape(k, -1).sum(1) for w in weights), zero) * rows.l2 / 2 if l2 else zero
    return torch.stack([a, b], dim=1)


def clip_members(params: list[nn.Parameter], rows: Rows) -> None:
    """``clip_grad_norm_`` and ``clip_grad_value_`` applied to each member on its own, with
    its own limits (none: infinite)."""
    by_norm, by_value = rows.clipped
    grads = [p.grad for p in params if p.grad is not None]
    if by_norm and grads:
        k = grads[0].shape[0]
        total = torch.stack([g.reshape(k, -1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
        scale = (rows.clip_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.view(k, *([1] * (g.dim() - 1))))
    if by_value:
        for g in grads:
            limit = rows.clip_value.view(-1, *([1] * (g.dim() - 1)))
            torch.clamp(g, min=-limit, max=limit, out=g)


def evaluate_members(
    stacked: nn.Module,
    val: Split,
    member_losses: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    rows: int = 4096,
) -> dict[str, torch.Tensor]:
    """Every member's validation loss (and accuracy), (K,) each, from stacked forward passes
    in eval mode (what ``evaluate_split`` gives for a member alone)."""
    k = next(stacked.parameters()).shape[0]
    stacked.eval()
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(val), rows):
            x = val.x[start : start + rows]
            chunks.append(stacked(x.unsqueeze(0).expand(k, *x.shape)))
        logits = torch.cat(chunks, dim=1)
        target = val.y.unsqueeze(0).expand(k, *val.y.shape)
        out = {"loss": member_losses(logits, target)}
        if not val.y.is_floating_point():
            out["accuracy"] = (logits.argmax(dim=2) == target).float().mean(1)
    stacked.train()
    return out


def member_optimizer_state(
    shared: torch.optim.Optimizer, own: torch.optim.Optimizer, k: int
) -> Callable[[], dict[str, Any]]:
    """Member ``k``'s optimizer state as its own optimizer would hold it alone: its rows of
    every per-parameter buffer, its step counters, and its own LR (for checkpoints)."""

    def state_dict() -> dict[str, Any]:
        if isinstance(shared, MemberwiseOptimizer):
            return shared.member_state(k, own)
        full, mine = shared.state_dict(), own.state_dict()
        dims = [p.dim() for group in shared.param_groups for p in group["params"]]
        rows = {
            index: {
                key: value[k].clone() if torch.is_tensor(value) and value.dim() == dims[index]
                else value
                for key, value in buffers.items()
            }
            for index, buffers in full["state"].items()
        }  # fmt: skip
        return {"state": rows, "param_groups": mine["param_groups"]}

    return state_dict


@dataclass(frozen=True)
class EpochNumbers:
    """Every member's numbers of one epoch, each a list over the member slots."""

    first_loss: list[float]  # the first batch's loss
    train_loss: list[float]
    penalties: list[list[float]]  # (L1, L2) per member
    logs: dict[str, list[float]]  # train_accuracy and val_*, named as the history names them


def epoch_numbers(
    losses: torch.Tensor,
    penalties: torch.Tensor,
    sizes: torch.Tensor,
    predicted: torch.Tensor,
    order: torch.Tensor,
    targets: torch.Tensor,
    scores: dict[str, torch.Tensor] | None,
) -> EpochNumbers:
    """Every member's epoch numbers, computed for all at once (one conversion each, not one
    per member)."""
    n = order.shape[1]
    logs: dict[str, list[float]] = {}
    if not targets.is_floating_point():
        hits = predicted == targets.index_select(0, order.reshape(-1)).view_as(order)
        logs["train_accuracy"] = (hits.sum(1) / n).tolist()
    for key, values in (scores or {}).items():
        logs[f"val_{key}"] = values.tolist()
    return EpochNumbers(
        first_loss=losses[0].tolist(),
        train_loss=((losses * sizes[:, None]).sum(0) / n).tolist(),
        penalties=((penalties * sizes[:, None, None]).sum(0) / n).tolist(),
        logs=logs,
    )


def follow_schedule(shared: torch.optim.Optimizer, own: torch.optim.Optimizer) -> None:
    """The shared optimizer takes the hyper-parameters a member's schedule set on its own
    optimizer (the LR, and the momentum one_cycle cycles); every member's are the same."""
    settings = {key: value for key, value in own.param_groups[0].items() if key != "params"}
    for group in shared.param_groups:
        group.update(settings)
