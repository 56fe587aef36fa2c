"""Each member of a stack steps as its own torch.optim optimizer would step it alone, with its
own hyper-parameters, schedule and step count."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from hone.train.optim import make_optimizer
from hone.train.stacked_optim import MemberwiseOptimizer

K = 3
CASES: list[tuple[str, list[dict[str, Any]], list[float]]] = [
    ("sgd", [{}, {"weight_decay": 0.01}, {}], [0.1, 0.05, 0.2]),
    ("momentum", [{"momentum": 0.9}, {"momentum": 0.5, "dampening": 0.1}, {"momentum": 0.0}],
     [0.1, 0.05, 0.2]),
    ("nesterov", [{"momentum": 0.9}, {"momentum": 0.5}, {"momentum": 0.7, "weight_decay": 1e-3}],
     [0.1, 0.05, 0.2]),
    ("adam", [{}, {"betas": (0.8, 0.99), "weight_decay": 0.01}, {"eps": 1e-6}],
     [0.01, 0.003, 0.05]),
    ("adam", [{"amsgrad": True}, {"amsgrad": True, "betas": (0.5, 0.9)}, {"amsgrad": True}],
     [0.01, 0.003, 0.05]),
    ("adamw", [{}, {"betas": (0.8, 0.99), "weight_decay": 0.1}, {"weight_decay": 0.0}],
     [0.01, 0.003, 0.05]),
    ("rmsprop", [{}, {"alpha": 0.9, "momentum": 0.5}, {"weight_decay": 0.01}],
     [0.01, 0.003, 0.005]),
    ("rmsprop", [{"centered": True}, {"centered": True, "momentum": 0.5}, {"centered": True}],
     [0.01, 0.003, 0.005]),
    ("adagrad", [{}, {"lr_decay": 0.01, "initial_accumulator_value": 0.1},
                 {"weight_decay": 0.01}], [0.1, 0.03, 0.05]),
]  # fmt: skip


def _flat(params: list[torch.nn.Parameter]) -> torch.Tensor:
    """Make ``params`` views of one (K, P) tensor, as ``stack_models(flat=True)`` does."""
    flat = torch.cat([p.detach().reshape(K, -1) for p in params], dim=1)
    start = 0
    for p in params:
        p.data = flat[:, start : start + p[0].numel()].view(p.shape)
        start += p[0].numel()
    return flat


def _loss(ws: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return (x @ ws[0].transpose(-1, -2) + ws[1].unsqueeze(-2)).sin().sum()


@pytest.mark.parametrize("flat", [False, True])
@pytest.mark.parametrize(("name", "extras", "lrs"), CASES)
def test_each_member_steps_as_its_optimizer_alone(
    name: str, extras: list[dict[str, Any]], lrs: list[float], flat: bool
) -> None:
    torch.manual_seed(0)
    w0, b0 = torch.randn(K, 4, 3), torch.randn(K, 4)
    stacked = [torch.nn.Parameter(w0.clone()), torch.nn.Parameter(b0.clone())]
    alone = [[torch.nn.Parameter(w0[k].clone()), torch.nn.Parameter(b0[k].clone())]
             for k in range(K)]  # fmt: skip
    owns = [make_optimizer(name, [torch.nn.Parameter(w0[k].clone())], lrs[k], extras[k])
            for k in range(K)]  # fmt: skip
    refs = [make_optimizer(name, alone[k], lrs[k], extras[k]) for k in range(K)]
    opt = MemberwiseOptimizer(stacked, owns, _flat(stacked) if flat else None)
    x = torch.randn(5, 3)
    for step in range(25):
        for p in stacked:
            p.grad = None
        _loss(stacked, x.expand(K, 5, 3)).backward()
        opt.step()
        for k in range(K):
            refs[k].zero_grad()
            _loss(alone[k], x).backward()
            refs[k].step()
        if step == 10:  # member 1's schedule halves its rate
            for o in (owns[1], refs[1]):
                o.param_groups[0]["lr"] *= 0.5
    for k in range(K):
        for mine, theirs in zip(stacked, alone[k], strict=True):
            assert torch.allclose(mine.detach()[k], theirs.detach(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("flat", [False, True])
def test_a_reset_member_starts_afresh_and_its_state_loads_alone(flat: bool) -> None:
    """A refilled slot: its step count and buffers start over; its checkpoint state is what
    its optimizer alone holds, loadable into that optimizer."""
    torch.manual_seed(1)
    w0 = torch.randn(K, 2, 2)
    w = torch.nn.Parameter(w0.clone())
    owns = [make_optimizer("adam", [torch.nn.Parameter(w0[k].clone())], 0.01, {})
            for k in range(K)]  # fmt: skip
    opt = MemberwiseOptimizer([w], owns, _flat([w]) if flat else None)
    for _ in range(3):
        w.grad = torch.ones_like(w)
        opt.step()
    opt.reset(2)
    assert opt.count == [3, 3, 0]
    alone = torch.nn.Parameter(w.detach()[2].clone())
    ref = make_optimizer("adam", [alone], 0.01, {})
    w.grad = torch.ones_like(w)
    opt.step()
    alone.grad = torch.ones_like(alone)
    ref.step()
    assert torch.allclose(w.detach()[2], alone.detach())
    state = opt.member_state(0, owns[0])
    restored = make_optimizer("adam", [torch.nn.Parameter(torch.zeros(2, 2))], 0.01, {})
    restored.load_state_dict(state)
    (loaded,) = restored.state.values()
    assert float(loaded["step"]) == 4.0 and loaded["exp_avg"].shape == (2, 2)


def test_members_need_one_optimizer_kind() -> None:
    w = torch.nn.Parameter(torch.zeros(2, 3))
    owns = [make_optimizer("adam", [torch.nn.Parameter(torch.zeros(3))], 0.1, {}),
            make_optimizer("sgd", [torch.nn.Parameter(torch.zeros(3))], 0.1, {})]  # fmt: skip
    with pytest.raises(ValueError, match="one optimizer kind"):
        MemberwiseOptimizer([w], owns)
