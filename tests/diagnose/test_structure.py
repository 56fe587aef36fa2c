"""The model's shape as a cause: frozen random layers, units that compute a linear map."""

from __future__ import annotations

import pytest

from hone.config import Config
from hone.diagnose.evidence import Evidence
from hone.diagnose.structure import frozen, linear_units


def _model(**model: object) -> Evidence:
    cfg = Config().to_dict()
    cfg["model"].update(model)
    return Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.9]}, {},
                    data={"task": "classification"})  # fmt: skip


@pytest.mark.parametrize(("slope", "linear"), [(1.0, True), (0.95, True), (0.3, False),
                                               (2.0, False), (-1.0, False)])  # fmt: skip
def test_a_leaky_relu_whose_negative_slope_is_one_is_a_linear_map(
    slope: float, linear: bool
) -> None:
    found = linear_units(_model(activation="leaky_relu", negative_slope=slope))
    assert (found is not None) == linear
    if found is not None:
        assert found.key == "model.negative_slope"
        assert found.remedies[0].patch == {"model.negative_slope": 0.01}
    assert linear_units(_model(activation="relu", negative_slope=slope)) is None


def test_hidden_layers_frozen_at_random_weights_are_a_strong_suspect() -> None:
    found = frozen(_model(freeze="all_but_head"))
    assert found is not None and found.weight >= 0.9
    assert found.remedies[0].patch == {"model.freeze": None}
    pretrained = frozen(_model(freeze="all_but_head", init_from="runs/abc"))
    assert pretrained is not None and pretrained.weight < 0.9  # transfer: frozen on purpose
    assert frozen(_model(freeze=None)) is None
