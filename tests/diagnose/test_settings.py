"""Settings as causes, read from a config: how strongly each points at a run's problem."""

from __future__ import annotations

import pytest

from hone.config import Config
from hone.diagnose.evidence import Evidence
from hone.diagnose.settings import STRONG, regularisation


def _evidence(hidden: list[int], dropout: float) -> Evidence:
    cfg = Config().to_dict()
    cfg["model"].update(hidden=hidden, dropout=dropout)
    return Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.5]}, {},
                    data={"task": "classification"})  # fmt: skip


@pytest.mark.parametrize(
    ("hidden", "dropout", "strong"),
    [([16], 0.755, True),  # keeps about 4 of 16 units a step: as narrow as a bottleneck
     ([16], 0.5, False),  # keeps 8
     ([256], 0.755, False),  # keeps about 63: strong only by its rate (0.8 and up)
     ([256], 0.85, True),
     ([256, 8], 0.3, False)],  # below the rate at which dropout is a suspect at all
)  # fmt: skip
def test_dropout_is_a_strong_suspect_by_its_rate_or_the_units_it_leaves(
    hidden: list[int], dropout: float, strong: bool
) -> None:
    found = [s for s in regularisation(_evidence(hidden, dropout)) if s.key == "model.dropout"]
    assert bool(found and found[0].weight >= STRONG) == strong
