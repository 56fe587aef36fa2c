"""Seeding torch's global generator as ``torch.manual_seed`` does, without its cost where
this PyTorch has no accelerator."""

from __future__ import annotations

import torch

__all__ = ["seed_torch"]


def seed_torch(seed: int) -> None:
    """``torch.manual_seed``; in a PyTorch built without an accelerator, its CPU generator
    alone: ``manual_seed`` also queues a seed, with a stack trace (~0.5 ms a call in a run),
    for each accelerator family the build could have but this one never initialises."""
    accelerator = getattr(torch, "accelerator", None)  # torch >= 2.6
    if accelerator is not None and accelerator.current_accelerator() is None:
        torch.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)
