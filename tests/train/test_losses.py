from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hone.errors import ConfigError
from hone.train.losses import LossSpec, make_loss


def spec(name: str, act: str, task: str = "classification", **kw: float) -> LossSpec:
    return LossSpec(name, act, 3, task, **kw)  # type: ignore[arg-type]


def test_cross_entropy_and_label_smoothing_match_torch() -> None:
    logits, y = torch.randn(8, 3), torch.randint(0, 3, (8,))
    assert torch.allclose(
        make_loss(spec("cross_entropy", "softmax"))(logits, y), F.cross_entropy(logits, y)
    )
    smoothed = make_loss(spec("cross_entropy", "softmax", label_smoothing=0.1))(logits, y)
    assert torch.allclose(smoothed, F.cross_entropy(logits, y, label_smoothing=0.1))


def test_bce_is_stable_for_extreme_logits_on_sigmoid_and_softmax_outputs() -> None:
    logits = torch.tensor([[80.0, -80.0, 0.0], [-100.0, 100.0, 3.0]])
    y = torch.tensor([1, 0])  # confidently wrong
    for act in ("sigmoid", "softmax", "none"):
        loss = make_loss(spec("bce", act))(logits, y)
        assert torch.isfinite(loss), act
    onehot = F.one_hot(y, 3).float()
    assert torch.allclose(
        make_loss(spec("bce", "sigmoid"))(logits, y),
        F.binary_cross_entropy_with_logits(logits, onehot),
    )
    moderate = torch.randn(6, 3)
    ym = torch.randint(0, 3, (6,))
    probs = moderate.softmax(1)
    assert torch.allclose(
        make_loss(spec("bce", "softmax"))(moderate, ym),
        F.binary_cross_entropy(probs, F.one_hot(ym, 3).float()),
        atol=1e-6,
    )


def test_mse_uses_one_hot_targets_on_outputs() -> None:
    logits, y = torch.randn(5, 3), torch.randint(0, 3, (5,))
    expected = F.mse_loss(torch.sigmoid(logits), F.one_hot(y, 3).float())
    assert torch.allclose(make_loss(spec("mse", "sigmoid"))(logits, y), expected)


def test_regression_losses() -> None:
    out, target = torch.randn(10, 1), torch.randn(10, 1)
    assert torch.allclose(
        make_loss(spec("mse", "none", "regression"))(out, target), F.mse_loss(out, target)
    )
    assert torch.allclose(
        make_loss(spec("mae", "none", "regression"))(out, target), F.l1_loss(out, target)
    )
    huber = make_loss(spec("huber", "none", "regression", huber_delta=0.5))(out, target)
    assert torch.allclose(huber, F.huber_loss(out, target, delta=0.5))
    with pytest.raises(ConfigError, match="does not fit a classification task"):
        make_loss(spec("mae", "none"))
