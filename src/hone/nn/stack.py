"""K copies of one MLP as one model: every parameter gains a leading member dimension.

``stack_models`` takes the K member models (each built and initialised with its own seed)
and returns one module computing all K on inputs shaped ``(K, batch, features)``, with
batched matmuls (``torch.baddbmm``) instead of K small ones. The members' parameters become
views into the stacked ones, so each member model always holds its current weights: anything
that reads or loads a member (early stopping, checkpoints, evaluation, telemetry) works on it
as on a model trained alone; so are their BatchNorm running statistics, each member's own.
Layers with a non-elementwise shape (convolutions, Maxout) cannot be stacked this way:
``unstackable`` names them.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hone.nn.target import TargetScale

__all__ = [
    "StackedBatchNorm",
    "StackedDropout",
    "StackedFlatten",
    "StackedLayerNorm",
    "StackedLinear",
    "detach_member",
    "flat_parameters",
    "member_buffers",
    "place_member",
    "stack_models",
    "unstackable",
]

# Modules that act elementwise (or are the identity), so they apply to (K, batch, ...) as is.
# TargetScale's fixed shift and scale are the same for every member (they come from the data).
_ELEMENTWISE = (
    nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Identity, nn.Dropout,
    nn.SiLU, nn.Softplus, nn.SELU, nn.Hardtanh, nn.ReLU6, nn.Mish, TargetScale,
)  # fmt: skip


# A weight at least this big (in x out) is multiplied from the left: W @ x^T.
WIDE = 4096


class StackedLinear(nn.Module):
    """K ``nn.Linear`` layers: weight ``(K, out, in)``, bias ``(K, out)``.

    A wide layer computes ``(W @ x^T)^T``: its weight gradient ``g^T @ x`` then comes out in
    the weight's own layout, where ``x @ W^T`` gives it transposed, and accumulating that
    copies every weight. Measured on one thread: three 784-200-10 members, fwd + bwd,
    batch 1: 482 -> 209 us (three plain models: 289); batch 32: 1,013 -> 775 us; 64-64-64-10
    x 8: 298 -> 262 us; a moons 2-32-32-2 stack the same either way. The output is then a
    transposed view; the ops after it take any layout."""

    def __init__(self, members: list[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in members]))
        bias = [m.bias for m in members]
        self.bias = (
            nn.Parameter(torch.stack([b.detach() for b in bias if b is not None]))
            if bias[0] is not None
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        if w.shape[1] * w.shape[2] >= WIDE:
            if self.bias is None:
                return torch.bmm(w, x.transpose(1, 2)).transpose(1, 2)
            return torch.baddbmm(self.bias.unsqueeze(2), w, x.transpose(1, 2)).transpose(1, 2)
        if self.bias is None:
            return torch.bmm(x, w.transpose(1, 2))
        return torch.baddbmm(self.bias.unsqueeze(1), x, w.transpose(1, 2))


class StackedLayerNorm(nn.Module):
    """K ``nn.LayerNorm`` layers over the last dimension, each with its own scale and shift."""

    def __init__(self, members: list[nn.LayerNorm]) -> None:
        super().__init__()
        first = members[0]
        self.shape, self.eps = tuple(first.normalized_shape), first.eps
        affine = first.weight is not None
        self.weight = (
            nn.Parameter(torch.stack([m.weight.detach() for m in members])) if affine else None
        )
        self.bias = (
            nn.Parameter(torch.stack([m.bias.detach() for m in members]))
            if affine and first.bias is not None
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.layer_norm(x, self.shape, None, None, self.eps)
        if self.weight is not None:
            out = out * self.weight.unsqueeze(1)
        if self.bias is not None:
            out = out + self.bias.unsqueeze(1)
        return out


class StackedBatchNorm(nn.Module):
    """K ``nn.BatchNorm1d`` layers on (K, batch, features): each member normalises with its
    own batch statistics and keeps its own running mean, variance and count. The K x features
    channels go through one ``F.batch_norm`` call, the kernel a member alone uses."""

    def __init__(self, members: list[nn.BatchNorm1d]) -> None:
        super().__init__()
        first = members[0]
        self.eps, self.momentum = first.eps, first.momentum
        self.weight, self.bias = None, None
        if first.affine:
            self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in members]))
            self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in members]))
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            rows = [getattr(m, name) for m in members]
            tracked = first.track_running_stats
            self.register_buffer(name, torch.stack(rows) if tracked else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError(f"StackedBatchNorm expects (members, batch, features), got {x.shape}")
        k, b, f = x.shape
        mean, var, count = (self._buffers[n] for n in ("running_mean", "running_var",
                                                        "num_batches_tracked"))  # fmt: skip
        momentum = 0.0 if self.momentum is None else self.momentum
        # One row has no batch statistics: it is normalised with the running ones, as the
        # engine does for a member alone (BatchNorm in eval mode for that forward pass).
        training = self.training and (b > 1 or mean is None)
        if training and count is not None:
            count.add_(1)
            if self.momentum is None:  # a cumulative average, as nn.BatchNorm1d keeps it
                momentum = 1.0 / float(count[0])
        out = F.batch_norm(
            x.transpose(0, 1).reshape(b, k * f),
            mean.view(-1) if mean is not None else None,
            var.view(-1) if var is not None else None,
            self.weight.reshape(-1) if self.weight is not None else None,
            self.bias.reshape(-1) if self.bias is not None else None,
            training or mean is None,
            momentum,
            self.eps,
        )
        return out.view(b, k, f).transpose(0, 1)


class StackedDropout(nn.Module):
    """``nn.Dropout`` with each member's own rate (0: the member has no dropout). The rates
    are settings, not state: plain tensors on the members' device, not buffers.

    The mask comes from 16 random bits per unit, four to each 64-bit draw: drawing them is a
    third of what ``rand_like`` costs, and on a small stack's activations the draw is most
    of dropout's time. The draw spans the full 64-bit range (``random_(-2**63, None)``):
    every 16-bit lane exactly uniform, and no modulo per draw (18 against 21 us for a
    20 x 32 x 32 stack's draws). A member keeps a unit with probability ``round(keep * 65536) /
    65536`` (within 1.5e-5 of its rate) and scales kept units by that probability's exact
    inverse, so the expected output is the input, as with ``nn.Dropout``; rate 0 keeps all.
    The mask is made by arithmetic, not a comparison: on a CPU, making and converting a
    boolean tensor cost 25 us of a 20 x 32 x 32 stack's 55, a subtraction and a clamp 8."""

    LEVELS = 65536

    def __init__(self, rates: list[float], device: torch.device | None = None) -> None:
        super().__init__()
        # 2 * below + 1 per member, where a signed 16-bit draw r (uniform on -32768..32767)
        # keeps the unit if r <= below: then bound - 2r >= 1, else <= -1 (exact in float32).
        self.bound = torch.zeros(len(rates), dtype=torch.float32, device=device)
        self.scale = torch.ones(len(rates), dtype=torch.float32, device=device)
        for k, rate in enumerate(rates):
            self.set_rate(k, rate)

    def set_rate(self, k: int, rate: float) -> None:
        kept = min(self.LEVELS, max(1, round((1 - rate) * self.LEVELS)))
        self.bound[k] = 2 * (kept - self.LEVELS // 2 - 1) + 1
        self.scale[k] = self.LEVELS / kept

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        n = x.numel()
        bits = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device)
        draws = bits.random_(-(2**63), None).view(torch.int16)[:n].view(x.shape)
        column = (-1, *([1] * (x.dim() - 1)))
        # In float32 whatever x's precision: a half-precision draw would not be exact.
        kept = torch.sub(self.bound.view(column), draws.float(), alpha=2).clamp_(0, 1)
        return x * kept.mul_(self.scale.view(column)).to(x.dtype)


class StackedFlatten(nn.Module):
    """``nn.Flatten`` that keeps the member and batch dimensions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2)


def unstackable(model: nn.Module) -> str | None:
    """Why ``model`` cannot be stacked (the first layer that stops it), else ``None``."""
    for name, module in model.named_modules():
        if list(module.children()):
            if not isinstance(module, nn.Sequential):
                kind = type(module).__name__
                return f"{name or 'the model'} is a {kind}, not a plain stack of layers"
            continue
        if isinstance(module, (nn.Linear, nn.LayerNorm, nn.BatchNorm1d, nn.Flatten, *_ELEMENTWISE)):
            if isinstance(module, nn.Flatten) and module.start_dim != 1:
                return f"{name} flattens from dimension {module.start_dim}"
            continue
        return f"{name} is a {type(module).__name__}"
    if any(not p.requires_grad for p in model.parameters()):
        return "some layers are frozen"
    return None


def stack_models(members: list[nn.Module], own_dropout: bool = False,
                 flat: bool = False) -> nn.Module:  # fmt: skip
    """One module computing every member (see the module docstring); afterwards each
    member's parameters are views of the stacked ones (member ``k`` is row ``k``).

    Members may differ in their dropout rates (a member with none has no ``nn.Dropout``
    module); ``own_dropout`` gives every dropout layer a rate per member even where they
    agree now (a slot may be refilled with another rate later). ``flat``: every stacked
    parameter is a view of one ``(K, P)`` tensor (``flat_parameters``), so an optimizer
    can update all of them with one operation per step instead of one per parameter."""
    why = unstackable(members[0])
    if why is not None:
        raise ValueError(f"cannot stack: {why}")
    by_name = [dict(m.named_modules()) for m in members]
    template = max(members, key=lambda m: len(list(m.modules())))
    _check_aligned(template, by_name)
    stacked = copy.deepcopy(template)
    for name, module in list(stacked.named_modules()):
        group: list[Any] = [modules.get(name) for modules in by_name]
        replacement: nn.Module | None = None
        if isinstance(module, nn.Dropout):
            rates = [float(m.p) if isinstance(m, nn.Dropout) else 0.0 for m in group]
            if own_dropout or len(set(rates)) > 1 or None in group:
                device = next(template.parameters()).device
                replacement = StackedDropout(rates, device)
        elif isinstance(module, nn.Linear):
            replacement = StackedLinear(group)
        elif isinstance(module, nn.LayerNorm):
            replacement = StackedLayerNorm(group)
        elif isinstance(module, nn.BatchNorm1d):
            replacement = StackedBatchNorm(group)
        elif isinstance(module, nn.Flatten):
            replacement = StackedFlatten()
        if replacement is not None:
            _replace(stacked, name, replacement)
    if flat:
        _flatten(stacked, len(members))
    shared = dict(stacked.named_parameters())
    buffers = member_buffers(stacked)
    for k, member in enumerate(members):
        for name, param in member.named_parameters():
            param.data = shared[name].data[k]
        for name, buffer in member.named_buffers():  # running statistics, for eval and saving
            if name in buffers:
                buffer.data = buffers[name].data[k]
    return stacked


_FLAT = "member_flat_parameters"


def _flatten(stacked: nn.Module, k: int) -> None:
    """Make the stacked parameters views of one (K, P) tensor, in ``parameters()`` order."""
    params = list(stacked.parameters())
    flat = torch.cat([p.detach().reshape(k, -1) for p in params], dim=1)
    start = 0
    for p in params:
        size = p[0].numel()
        p.data = flat[:, start : start + size].view(p.shape)
        start += size
    object.__setattr__(stacked, _FLAT, flat)


def flat_parameters(stacked: nn.Module) -> torch.Tensor | None:
    """The (K, P) tensor every stacked parameter is a view of (``stack_models(flat=True)``)."""
    return getattr(stacked, _FLAT, None)


def _check_aligned(template: nn.Module, by_name: list[dict[str, nn.Module]]) -> None:
    """Every member has the template's layers (dropout aside), of the same kinds."""
    layers = {n: type(m) for n, m in template.named_modules() if not isinstance(m, nn.Dropout)}
    for modules in by_name:
        mine = {n: type(m) for n, m in modules.items() if not isinstance(m, nn.Dropout)}
        if mine != layers:
            raise ValueError("cannot stack: the members' layers differ")


def place_member(stacked: nn.Module, member: nn.Module, k: int) -> None:
    """Put ``member`` (built alone, same layers) into row ``k`` of the stacked model: its
    weights and running statistics are copied there, then it holds views of that row."""
    shared = dict(stacked.named_parameters())
    buffers = member_buffers(stacked)
    with torch.no_grad():
        for name, param in member.named_parameters():
            shared[name].data[k].copy_(param.data)
            param.data = shared[name].data[k]
        for name, buffer in member.named_buffers():
            if name in buffers:
                buffers[name].data[k].copy_(buffer.data)
                buffer.data = buffers[name].data[k]


def detach_member(member: nn.Module) -> None:
    """Give ``member`` its own copy of its weights and statistics (its slot in the stacked
    model is about to hold another member's)."""
    for param in member.parameters():
        param.data = param.data.clone()
    for buffer in member.buffers():
        buffer.data = buffer.data.clone()


def member_buffers(stacked: nn.Module) -> dict[str, torch.Tensor]:
    """The stacked model's buffers that hold one row per member (running statistics), by
    name; not ``TargetScale``'s, which every member shares whole."""
    fixed = {id(b) for m in stacked.modules() if isinstance(m, TargetScale) for b in m.buffers()}
    return {n: b for n, b in stacked.named_buffers() if id(b) not in fixed}


def _replace(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)
