from __future__ import annotations

import torch

from hone.train.seeding import seed_torch


def test_seed_torch_draws_what_torch_manual_seed_draws() -> None:
    """Without an accelerator only the CPU generator is seeded: the same draws."""
    for seed in (0, 7, 2**40):
        seed_torch(seed)
        ours = torch.rand(5), torch.randn(3)
        torch.manual_seed(seed)
        assert torch.equal(ours[0], torch.rand(5)) and torch.equal(ours[1], torch.randn(3))
