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
