from __future__ import annotations

from pathlib import Path

import pytest
import torch

import hone
from hone.errors import ConfigError
from hone.train.callbacks import Callback
from hone.train.state import TrainState
from tests.conftest import tiny


class GradProbe(Callback):
    """Reads gradients after each step (they are cleared only at the next step)."""

    def __init__(self) -> None:
        self.norms: list[float] = []
        self.maxima: list[float] = []

    def on_batch_end(self, state: TrainState) -> None:
        grads = [p.grad for p in state.model.parameters() if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]))))
        self.maxima.append(max(float(g.abs().max()) for g in grads))


@pytest.mark.parametrize(
    ("clip", "attr", "bound"), [({"norm": 0.05}, "norms", 0.05), ({"value": 0.01}, "maxima", 0.01)]
)
def test_gradients_are_clipped(
    tmp_path: Path, clip: dict[str, float], attr: str, bound: float
) -> None:
    probe, unclipped = GradProbe(), GradProbe()
    hone.run(tiny(**{"train.grad_clip": clip}), store=str(tmp_path), callbacks=[probe])
    hone.run(tiny(), store=str(tmp_path), callbacks=[unclipped])
    assert max(getattr(probe, attr)) <= bound * (1 + 1e-5)
    assert max(getattr(unclipped, attr)) > bound  # the bound was active


def test_exactly_one_of_norm_or_value() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        hone.load_config({"train": {"grad_clip": {"norm": 1.0, "value": 1.0}}})
