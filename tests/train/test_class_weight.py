from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hone.api import build_run, resolve_class_weights
from hone.config import load_config
from hone.errors import ConfigError
from hone.train.losses import LossSpec, make_loss
from tests.diagnose.scenarios import imbalanced_npz


def test_balanced_weights_follow_scikit_learn(tmp_path: Path) -> None:
    from sklearn.utils.class_weight import compute_class_weight

    cfg = load_config(
        {
            "data": {"dataset": "npz", "path": imbalanced_npz(tmp_path)},
            "train": {"class_weight": "balanced"},
        }
    )
    built = build_run(cfg)
    y = built.data.train.y.numpy()
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    assert resolve_class_weights("balanced", built.data) == pytest.approx(tuple(expected))
    assert resolve_class_weights({"1": 5.0}, built.data) == (1.0, 5.0)
    with pytest.raises(ConfigError, match="unknown label"):
        resolve_class_weights({"7": 2.0}, built.data)


@pytest.mark.parametrize("loss", ["cross_entropy", "bce", "mse"])
def test_class_weights_change_the_loss(loss: str) -> None:
    logits, y = torch.randn(20, 2), torch.tensor([0] * 15 + [1] * 5)
    act = {"cross_entropy": "softmax", "bce": "sigmoid", "mse": "sigmoid"}[loss]
    plain = make_loss(LossSpec(loss, act, 2))(logits, y)
    weighted = make_loss(LossSpec(loss, act, 2, class_weights=(1.0, 3.0)))(logits, y)
    assert not torch.allclose(plain, weighted)
    if loss == "cross_entropy":
        assert torch.allclose(weighted, F.cross_entropy(logits, y, weight=torch.tensor([1.0, 3.0])))
    equal = make_loss(LossSpec(loss, act, 2, class_weights=(2.0, 2.0)))(logits, y)
    assert torch.allclose(equal, plain)  # equal weights change nothing (weighted mean)


def test_class_weights_that_are_all_zero_are_refused_before_training(tmp_path: Path) -> None:
    import hone

    store = str(tmp_path / "s")
    for weights in ({"0": 0, "1": 0}, {"1": 0.0, "0": 0.0}):
        cfg = {"data": {"dataset": "npz", "path": imbalanced_npz(tmp_path)},
               "train": {"epochs": 1, "class_weight": weights}}  # fmt: skip
        with pytest.raises(ConfigError, match=r"train\.class_weight: every class .* weight 0"):
            hone.run(cfg, store=store)
    cfg["train"]["class_weight"] = {"0": 0}  # type: ignore[index]  # class 1 keeps weight 1
    assert hone.run(cfg, store=store).status in ("completed", "diverged")


@pytest.mark.parametrize(
    ("key", "value"),
    [("model.init_value", 1e308), ("model.init_value", -3.5e38), ("model.alpha", 1e300),
     ("model.negative_slope", 1e308), ("train.class_weight", {"0": 1e308}),
     ("train.grad_clip", {"value": 1e308}), ("train.huber_delta", 1e39)],
)  # fmt: skip
def test_values_that_become_float32_tensors_are_bounded_by_its_range(
    key: str, value: object
) -> None:
    with pytest.raises(ConfigError, match=rf"{key.split('.')[-1]}.*float32's range"):
        load_config({"model": {"init": "constant"}}, {key: value})
    assert load_config({}, {"model.init_value": 3e38}).model.init_value == 3e38
