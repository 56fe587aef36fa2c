"""Optimizers by config name, all from ``torch.optim``; extra config keys pass through.

Each is the ``torch.optim`` class itself, entered through a subclass (``eager``) that calls
the methods' eager bodies: torch wraps ``step``, ``zero_grad``, ``add_param_group`` and the
state-dict methods in guards for ``torch.compile`` that import ``torch._dynamo`` on first use
(~0.75 s, a quarter of a short run's wall time) though nothing is compiled. The update, the
state and the class's behaviour are torch's own; a compiled model (``train.compile``) still
imports it where it needs it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim.optimizer import Optimizer

from hone.config.names import OPTIMIZERS as OPTIMIZER_NAMES
from hone.errors import ConfigError, suggest
from hone.registry import Registry

__all__ = ["OPTIMIZERS", "EagerMethods", "eager", "make_optimizer"]

_Factory = Callable[..., torch.optim.Optimizer]

OPTIMIZERS: Registry[tuple[_Factory, dict[str, Any]]] = Registry(
    "optimizer", "train.optimizer.name"
)
for _name, (_cls, _fixed) in OPTIMIZER_NAMES.items():  # one list of names, in config.names
    OPTIMIZERS.add(_name, (getattr(torch.optim, _cls), _fixed))


def _body(method: Any) -> Any:
    """The function under torch's compile guard (``functools.wraps`` keeps it as
    ``__wrapped__``), or the method itself where this torch has no guard."""
    return getattr(method, "__wrapped__", method)


class EagerMethods:
    """The eager bodies of ``Optimizer``'s guarded methods (see the module docstring)."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        _body(Optimizer.add_param_group)(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _body(Optimizer.zero_grad)(self, set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return _body(Optimizer.state_dict)(self)  # type: ignore[no-any-return]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _body(Optimizer.load_state_dict)(self, state_dict)

    def step(self, closure: Callable[[], float] | None = None) -> Any:
        guarded = super().step  # type: ignore[misc]
        body = getattr(guarded, "__wrapped__", None)
        if body is None:
            return guarded(closure)
        with torch.no_grad():  # what the guard does besides importing dynamo
            return body(self, closure)


@functools.cache
def eager(cls: type[Optimizer]) -> type[Optimizer]:
    """``cls`` (a ``torch.optim`` class) entered through ``EagerMethods``; same name and state."""
    return type(cls.__name__, (EagerMethods, cls), {"__module__": __name__, "__doc__": cls.__doc__})


def make_optimizer(
    name: str, params: Iterable[torch.nn.Parameter], lr: float, extra: dict[str, Any]
) -> torch.optim.Optimizer:
    torch_cls, fixed = OPTIMIZERS.get(name)
    cls: Callable[..., Optimizer] = eager(torch_cls)
    accepted = set(inspect.signature(cls).parameters) - {"params", "lr"}
    for key in extra:
        if key not in accepted:
            raise ConfigError(
                f"train.optimizer.{key}: '{name}' has no hyper-parameter '{key}'"
                f"{suggest(key, accepted)}; valid: {', '.join(sorted(accepted))}"
            )
    kwargs = {**fixed, **extra}
    if isinstance(kwargs.get("betas"), list):
        kwargs["betas"] = tuple(kwargs["betas"])
    params = list(params)
    if "fused" in accepted and "fused" not in kwargs and "foreach" not in kwargs:
        # One fused kernel per step instead of one op per tensor: ~2.5x faster Adam steps on
        # small models (measured on CPU). Fall back where this torch/device lacks it.
        try:
            return cls(params, lr=lr, fused=True, **kwargs)
        except (RuntimeError, TypeError, ValueError):
            pass
    try:
        return cls(params, lr=lr, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"train.optimizer: {exc}") from None
