"""The training loops a user would otherwise write, timed against hone's engine."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from hone.api import BuiltRun


def bare_loop(built: BuiltRun, epochs: int, batch: int) -> None:
    """Tensors in memory, a permutation, index slices; the same model, loss and optimizer."""
    model, opt, loss_fn = built.model, built.optimizer, built.loss_fn
    x, y = built.data.train.x, built.data.train.y
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(y), generator=built.generator)
        for i in range(0, len(y), batch):
            idx = perm[i : i + batch]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _validate(built)


def dataloader_loop(built: BuiltRun, epochs: int, batch: int) -> None:
    """The idiomatic tutorial loop."""
    model, opt, loss_fn = built.model, built.optimizer, built.loss_fn
    loader = DataLoader(
        TensorDataset(built.data.train.x, built.data.train.y),
        batch_size=batch,
        shuffle=True,
        generator=built.generator,
    )
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _validate(built)


def _validate(built: BuiltRun) -> None:
    if built.data.val is not None:  # hone validates every epoch; so do the references
        built.model.eval()
        with torch.inference_mode():
            built.loss_fn(built.model(built.data.val.x), built.data.val.y)
