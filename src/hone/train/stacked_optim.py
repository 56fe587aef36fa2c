"""One optimizer step for K stacked members, each with its own hyper-parameters.

Stacked seeds share every hyper-parameter, so one ``torch.optim`` optimizer over the stacked
parameters serves them. Stacked trials do not: each member has its own learning rate (and its
own schedule of it), momentum or betas, weight decay, epsilon... ``MemberwiseOptimizer`` reads
them every step from each member's own optimizer (a real ``torch.optim`` one over the member's
views, never stepped: its schedule sets its param group) and applies torch's update rule with
a ``(K, 1, ...)`` column per hyper-parameter, so each member's rows move exactly as its
optimizer alone would move them (tests check it against ``torch.optim``). Each member also
counts its own steps (Adam's bias correction), and ``reset`` starts a member afresh in its
slot (a refilled trial).

SGD (momentum, dampening, Nesterov), Adam, AdamW, RMSprop (centred or not) and Adagrad, the
optimizers hone names. Flags (``nesterov``, ``amsgrad``, ``centered``, ``maximize``) are the
same for every member: they change which update runs, not its numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from hone.train.optim import EagerMethods

__all__ = ["MEMBERWISE", "MemberwiseOptimizer", "memberwise_kind"]

# The numbers a member may set on its own, per optimizer kind (torch's param-group keys).
MEMBERWISE: dict[str, tuple[str, ...]] = {
    "SGD": ("lr", "momentum", "dampening", "weight_decay"),
    "Adam": ("lr", "betas", "eps", "weight_decay"),
    "AdamW": ("lr", "betas", "eps", "weight_decay"),
    "RMSprop": ("lr", "alpha", "eps", "weight_decay", "momentum"),
    "Adagrad": ("lr", "lr_decay", "weight_decay", "eps", "initial_accumulator_value"),
}
FLAGS = ("nesterov", "amsgrad", "centered", "maximize", "decoupled_weight_decay")


def memberwise_kind(optimizer: torch.optim.Optimizer) -> str | None:
    """The torch.optim class ``optimizer`` is (or derives from), if this module steps it."""
    for cls in type(optimizer).__mro__:
        if cls.__module__.startswith("torch.optim") and cls.__name__ in MEMBERWISE:
            return cls.__name__
    return None


class MemberwiseOptimizer(EagerMethods, torch.optim.Optimizer):
    """The stacked parameters (member dimension first) stepped with member ``k``'s
    hyper-parameters from ``members[k]``, which may be swapped (``members[k] = ...`` then
    ``reset(k)``) when a new member takes the slot."""

    def __init__(self, params: Sequence[torch.nn.Parameter],
                 members: Sequence[torch.optim.Optimizer],
                 flat: torch.Tensor | None = None) -> None:  # fmt: skip
        """``flat``: the (K, P) tensor every parameter is a view of, in order
        (``hone.nn.stack.flat_parameters``): then one update covers them all."""
        super().__init__(list(params), {})
        self.flat, self.flat_state = flat, dict[str, Any]()
        self.widths = [p[0].numel() for p in self.params]
        kinds = {memberwise_kind(m) for m in members}
        if len(kinds) != 1 or None in kinds:
            raise ValueError(f"members need one optimizer kind of {list(MEMBERWISE)}: {kinds}")
        self.kind = str(next(iter(kinds)))
        self.members = list(members)
        self.flags = {f: bool(members[0].param_groups[0].get(f, False)) for f in FLAGS}
        self.flags["decoupled"] = self.kind == "AdamW" or self.flags["decoupled_weight_decay"]
        self.count = [0] * len(members)  # each member's steps (Adam's bias correction)
        self._seen: tuple[Any, ...] = ()
        self._values: dict[str, list[float]] = {}
        self._columns_key: tuple[Any, ...] | None = None
        self._columns: dict[str, torch.Tensor] = {}
        self._update: Callable[..., None] = _UPDATES[self.kind]

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def _hyper(self) -> dict[str, list[float]]:
        """Every member's numbers, one list per key; read again only when one changed."""
        groups = [m.param_groups[0] for m in self.members]
        keys = MEMBERWISE[self.kind]
        seen = tuple(tuple(g.get(k) for k in keys) for g in groups)
        if seen != self._seen:
            columns: dict[str, list[float]] = {}
            for g in groups:
                for key in keys:
                    value = g.get(key, 0.0)
                    if key == "betas":
                        columns.setdefault("beta1", []).append(float(value[0]))
                        columns.setdefault("beta2", []).append(float(value[1]))
                    else:
                        columns.setdefault(key, []).append(float(value))
            self._values, self._seen = columns, seen
        return self._values

    def reset(self, k: int) -> None:
        """Member ``k`` starts afresh: no steps taken, its rows of every buffer cleared."""
        self.count[k] = 0
        start = self._hyper().get("initial_accumulator_value", [0.0] * len(self.count))[k]
        pairs = [(p, self.state.get(p, {})) for p in self.params]
        if self.flat is not None:
            pairs.append((self.flat, self.flat_state))
        for p, state in pairs:
            for name, buffer in state.items():
                if name == "sum":  # Adagrad's accumulator starts at its initial value
                    buffer[k] = start
                elif torch.is_tensor(buffer) and buffer.dim() == p.dim():
                    buffer[k] = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        if not set_to_none:
            super().zero_grad(set_to_none)
            return
        for p in self.params:  # torch's own walk costs ~8x this on a stack's few tensors
            p.grad = None

    def step(self, closure: Callable[[], float] | None = None) -> Any:
        """torch's entry point (profiling and step hooks around ``update``)."""
        return self.update()

    @torch.no_grad()
    def update(self) -> None:
        """One step of every member: ``step`` without torch's wrapper, for the stacked
        loop's every batch."""
        params = [p for p in self.params if p.grad is not None]
        if not params:
            return None
        columns = self._step_columns(params[0])
        if self.flat is not None and len(params) == len(self.params):
            grads = [p.grad.reshape(len(p), -1) for p in params if p.grad is not None]
            grad = torch.cat(grads, dim=1)
            grad = -grad if self.flags["maximize"] else grad
            self._update(self.flat, grad, columns, self.flat_state, self.flags)
            return None
        views: dict[int, dict[str, torch.Tensor]] = {2: columns}  # per parameter rank
        for p in params:
            if p.dim() not in views:
                shape = (-1,) + (1,) * (p.dim() - 1)
                views[p.dim()] = {k: v.view(shape) for k, v in columns.items()}
            assert p.grad is not None
            grad = -p.grad if self.flags["maximize"] else p.grad
            self._update(p, grad, views[p.dim()], self.state.setdefault(p, {}), self.flags)
        return None

    def _step_columns(self, like: torch.Tensor) -> dict[str, torch.Tensor]:
        """This step's (K, 1) columns: the members' numbers and what their step counts make
        of them (Adam's bias corrections, in double as torch computes them), made in Python
        and moved to the device as one tensor. SGD's and RMSprop's columns change only with
        the numbers or a member's first step, so they are kept until then."""
        values = dict(self._hyper())
        self.count = [c + 1 for c in self.count]
        steady = self.kind in ("SGD", "RMSprop")
        key = (self._seen, tuple(c == 1 for c in self.count)) if steady else None
        if key is not None and key == self._columns_key:
            return self._columns
        values["step"] = [float(c) for c in self.count]
        values["first"] = [float(c == 1) for c in self.count]
        if "beta1" in values:
            b1, b2, lr = values["beta1"], values["beta2"], values["lr"]
            t = self.count
            values["neg_step"] = [-r / (1 - b**n) for r, b, n in zip(lr, b1, t, strict=True)]
            values["bias2_sqrt"] = [(1 - b**n) ** 0.5 for b, n in zip(b2, t, strict=True)]
            values["keep1"], values["keep2"] = [1 - b for b in b1], [1 - b for b in b2]
        if self.kind == "SGD":
            values.update(_sgd_columns(values))
        momenta = values.get("momentum", [])
        self.flags["moving"] = any(m != 0 for m in momenta)  # some member keeps a buffer
        self.flags["all_moving"] = all(m != 0 for m in momenta)
        names = list(values)
        table = torch.tensor([values[n] for n in names], dtype=like.dtype, device=like.device)
        columns = dict(zip(names, table.unsqueeze(-1), strict=True))
        self._columns_key, self._columns = key, columns
        return columns

    def member_state(self, k: int, own: torch.optim.Optimizer) -> dict[str, Any]:
        """Member ``k``'s state as ``own`` (its optimizer alone) would hold it: a checkpoint
        of the member resumes on its own."""
        rows: dict[int, dict[str, Any]] = {}
        start = 0
        for i, p in enumerate(self.params):
            state: dict[str, Any] = {}
            for name, buffer in self.state.get(p, {}).items():
                state[name] = buffer[k].clone()
            for name, buffer in self.flat_state.items():  # this parameter's columns of them
                state[name] = buffer[k, start : start + self.widths[i]].view(p.shape[1:]).clone()
            start += self.widths[i]
            if self.kind != "SGD" and state:
                state["step"] = torch.tensor(float(self.count[k]))
            if self.kind == "SGD":
                group = self.members[k].param_groups[0]
                state = {"momentum_buffer": state.get("momentum_buffer")
                         if group.get("momentum") else None}  # fmt: skip
            if state:
                rows[i] = state
        return {"state": rows, "param_groups": own.state_dict()["param_groups"]}


def _buffer(state: dict[str, Any], name: str, p: torch.Tensor, fill: Any = 0.0) -> torch.Tensor:
    if name not in state:
        start = torch.zeros_like(p)
        start += fill
        state[name] = start
    return state[name]  # type: ignore[no-any-return]


def _sgd_columns(values: dict[str, list[float]]) -> dict[str, list[float]]:
    """SGD's momentum numbers for this step: on a member's first step its buffer is the
    gradient itself (kept 0, undamped); a member without momentum keeps none."""
    keep, damp, moving = [], [], []
    for m, d, first in zip(values["momentum"], values["dampening"], values["first"], strict=True):
        keep.append(0.0 if first else m)
        damp.append(1.0 if first or m == 0 else 1 - d)
        moving.append(float(m != 0))
    return {"keep": keep, "damp": damp, "moving": moving}


def _sgd(p: torch.Tensor, grad: torch.Tensor, h: dict[str, torch.Tensor],
         state: dict[str, Any], flags: dict[str, bool]) -> None:  # fmt: skip
    """torch.optim.SGD: weight decay, then momentum (``_sgd_columns``), then the step."""
    g = grad.addcmul(h["weight_decay"], p)
    if flags["moving"]:
        buf = _buffer(state, "momentum_buffer", p)
        buf.mul_(h["keep"]).addcmul_(g, h["damp"])
        if flags["nesterov"]:
            g = g.addcmul(h["momentum"], buf)
        elif flags["all_moving"]:
            g = buf
        else:
            g = torch.where(h["moving"] != 0, buf, g)
    p.addcmul_(h["lr"], g, value=-1)


def _adam(p: torch.Tensor, grad: torch.Tensor, h: dict[str, torch.Tensor],
          state: dict[str, Any], flags: dict[str, bool]) -> None:  # fmt: skip
    """torch.optim.Adam and AdamW (decoupled weight decay)."""
    lr, wd = h["lr"], h["weight_decay"]
    if flags["decoupled"]:
        p.mul_(1 - lr * wd)
        g = grad
    else:
        g = grad.addcmul(wd, p)
    m, v = _buffer(state, "exp_avg", p), _buffer(state, "exp_avg_sq", p)
    m.lerp_(g, h["keep1"])
    v.mul_(h["beta2"]).addcmul_(g, g * h["keep2"])
    if flags["amsgrad"]:
        top = _buffer(state, "max_exp_avg_sq", p)
        torch.maximum(top, v, out=top)
        v = top
    denom = v.sqrt().div_(h["bias2_sqrt"]).add_(h["eps"])
    p.addcdiv_(m * h["neg_step"], denom)


def _rmsprop(p: torch.Tensor, grad: torch.Tensor, h: dict[str, torch.Tensor],
             state: dict[str, Any], flags: dict[str, bool]) -> None:  # fmt: skip
    """torch.optim.RMSprop, centred or not, with or without momentum."""
    g = grad + h["weight_decay"] * p
    alpha = h["alpha"]
    square = _buffer(state, "square_avg", p)
    square.mul_(alpha).add_(g * g * (1 - alpha))
    if flags["centered"]:
        mean = _buffer(state, "grad_avg", p)
        mean.lerp_(g, 1 - alpha)
        avg = (square - mean * mean).sqrt() + h["eps"]
    else:
        avg = square.sqrt() + h["eps"]
    if flags["moving"]:
        buf = _buffer(state, "momentum_buffer", p)
        buf.mul_(h["momentum"]).add_(g / avg)
        p.sub_(h["lr"] * buf)
    else:
        p.sub_(h["lr"] * g / avg)


def _adagrad(p: torch.Tensor, grad: torch.Tensor, h: dict[str, torch.Tensor],
             state: dict[str, Any], flags: dict[str, bool]) -> None:  # fmt: skip
    """torch.optim.Adagrad: the learning rate decays with the member's own step count."""
    g = grad + h["weight_decay"] * p
    start = h["initial_accumulator_value"].view((-1,) + (1,) * (p.dim() - 1))
    total = _buffer(state, "sum", p, start)
    total.add_(g * g)
    rate = h["lr"] / (1 + (h["step"] - 1) * h["lr_decay"])
    p.sub_(rate * g / (total.sqrt() + h["eps"]))


_UPDATES: dict[str, Callable[..., None]] = {
    "SGD": _sgd, "Adam": _adam, "AdamW": _adam, "RMSprop": _rmsprop, "Adagrad": _adagrad,
}  # fmt: skip
