"""The fixed last layer of a regression trained on standardised targets."""

from __future__ import annotations

import copy

import torch
from torch import nn

from hone.config import load_config
from hone.nn.build import build_model
from hone.nn.stack import stack_models, unstackable
from hone.nn.target import TargetScale, TargetScaled, add_target_scale, target_scale_of

STATE = {"kind": "standard", "shift": [300_000.0, -2.0], "scale": [40_000.0, 0.5]}


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    cfg = load_config({"data": {"dataset": "regression"}, "model": {"hidden": [8]}})
    return build_model(cfg.model, (3,), 2)


def test_the_layer_maps_back_to_units_and_saves_no_tensors() -> None:
    model = _model()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(5, 3)
    raw = model(x)
    scaled = add_target_scale(model, STATE, own=False)
    assert scaled is model and isinstance(model.target, TargetScale)  # in place, names kept
    torch.testing.assert_close(scaled(x), raw * torch.tensor(STATE["scale"]) +
                               torch.tensor(STATE["shift"]))  # fmt: skip
    assert model.state_dict().keys() == weights.keys()  # the weights file is unchanged
    assert add_target_scale(_model(), None, own=False).state_dict().keys() == weights.keys()
    assert target_scale_of(model) is model.target


def test_a_module_of_your_own_is_wrapped_not_changed() -> None:
    mine = nn.Sequential(nn.Linear(3, 2))
    wrapped = add_target_scale(mine, STATE, own=True)
    assert isinstance(wrapped, TargetScaled) and wrapped.inner is mine
    assert not hasattr(mine, "target")


def test_models_with_the_layer_stack() -> None:
    members = [add_target_scale(_model(seed), STATE, own=False) for seed in range(3)]
    assert unstackable(members[0]) is None
    alone = [copy.deepcopy(m).eval() for m in members]
    stacked = stack_models(members).eval()
    x = torch.randn(3, 4, 3)
    out = stacked(x)
    for k, ref in enumerate(alone):
        torch.testing.assert_close(out[k], ref(x[k]))
        # each member keeps its whole scaler (not row k of the stacked one)
        torch.testing.assert_close(members[k].target.shift, torch.tensor(STATE["shift"]))
