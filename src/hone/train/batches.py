"""How an epoch is cut into batches, the same for both training loops (``engine.fit`` and
``stacked.fit_stacked``): how many steps, how many rows they train on, and each step's size."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["EpochBatches"]


@dataclass(frozen=True)
class EpochBatches:
    """``n`` rows in batches of ``batch_size``, at most ``cap`` batches an epoch.

    A one-row last batch is folded into the batch before it: it gives BatchNorm no batch
    statistics and makes a one-sample gradient step. A cap (``train.steps_per_epoch``)
    trains on the first ``cap`` batches of each epoch's shuffled order."""

    batch_size: int
    steps: int
    seen: int  # rows an epoch trains on: all of them, unless its batches are capped

    @classmethod
    def plan(cls, n: int, batch_size: int, cap: int | None = None) -> EpochBatches:
        batch_size = min(batch_size, n)
        steps = -(-n // batch_size)
        if steps > 1 and n % batch_size == 1:
            steps -= 1
        if cap is not None and cap < steps:
            return cls(batch_size, cap, cap * batch_size)
        return cls(batch_size, steps, n)

    def end(self, step: int) -> int:
        """The row (of the shuffled order) where ``step`` ends: the last takes the rest."""
        return self.seen if step == self.steps - 1 else (step + 1) * self.batch_size

    def sizes(self, device: torch.device | str) -> torch.Tensor:
        """Rows in each step, as floats (weights for the epoch's mean loss)."""
        sizes = torch.full((self.steps,), float(self.batch_size), device=device)
        sizes[-1] = self.seen - self.batch_size * (self.steps - 1)
        return sizes
