from __future__ import annotations

import torch

from hone.assemble import build_run, seed_everything
from hone.config import load_config
from tests.conftest import tiny


def test_seed_everything_draws_what_torch_manual_seed_draws() -> None:
    seed_everything(7)
    ours = torch.rand(5)
    torch.manual_seed(7)
    assert torch.equal(ours, torch.rand(5))


def test_a_seed_builds_the_same_weights() -> None:
    cfg = load_config(tiny(seed=3))
    first = build_run(cfg).model.state_dict()
    torch.rand(100)  # the global generator moved on: building seeds it again
    again = build_run(cfg).model.state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
