from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hone.errors import ConfigError
from hone.train.losses import LossSpec, make_loss, member_means, per_sample_loss


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
    for act in ("sigmoid", "softmax"):
        loss = make_loss(spec("bce", act))(logits, y)
        assert torch.isfinite(loss), act
    with pytest.raises(ConfigError, match="needs probabilities"):
        make_loss(spec("bce", "none"))  # raw outputs are not probabilities
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


@pytest.mark.parametrize(("name", "act"), [("cross_entropy", "sigmoid"), ("bce", "sigmoid"),
                                           ("bce", "softmax"), ("mse", "sigmoid"),
                                           ("cross_entropy", "softmax")])  # fmt: skip
def test_label_smoothing_applies_to_every_classification_loss(name: str, act: str) -> None:
    """Smoothing moves the one-hot target to (1 - e) + e/K on the class and e/K elsewhere."""
    logits, y = torch.randn(16, 3), torch.randint(0, 3, (16,))
    losses = [
        float(make_loss(spec(name, act, label_smoothing=e))(logits, y)) for e in (0, 0.1, 0.3)
    ]
    assert len(set(losses)) == 3, losses
    eps, k = 0.2, 3
    target = F.one_hot(y, k).float() * (1 - eps) + eps / k
    if name == "bce" and act == "sigmoid":
        expected = F.binary_cross_entropy_with_logits(logits, target)
        assert torch.allclose(make_loss(spec(name, act, label_smoothing=eps))(logits, y), expected)
    if name == "mse":
        expected = F.mse_loss(torch.sigmoid(logits), target)
        assert torch.allclose(make_loss(spec(name, act, label_smoothing=eps))(logits, y), expected)


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_standardised_targets_give_the_scaled_gradient_and_the_loss_in_units(name: str) -> None:
    """The value is the loss on the targets as given; the gradient is that of the loss on
    (out - y) / std, so the learning rate means the same whatever the target's units."""
    std = (1000.0, 5.0)  # two output columns, two units
    g = torch.Generator().manual_seed(0)
    target = torch.randn(16, 2, generator=g, dtype=torch.float64) * torch.tensor(std)
    out = (target + torch.randn(16, 2, generator=g, dtype=torch.float64) * 3).requires_grad_()
    scaled = LossSpec(name, "none", 2, "regression", huber_delta=0.5, target_scale=std)
    value = make_loss(scaled)(out, target)
    in_units = {"mse": F.mse_loss, "mae": F.l1_loss}.get(name)
    if in_units is not None:
        torch.testing.assert_close(value, in_units(out, target))
    else:  # Huber with delta in standard deviations is, in units, Huber with delta * std
        s = torch.tensor(std, dtype=torch.float64)
        rows = F.huber_loss(out / s, target / s, delta=0.5, reduction="none") * s**2
        torch.testing.assert_close(value, rows.mean())
    (grad,) = torch.autograd.grad(value, out)
    plain = LossSpec(name, "none", 2, "regression", huber_delta=0.5)
    s = torch.tensor(std, dtype=torch.float64)
    reference = out.detach().clone().requires_grad_()
    (expected,) = torch.autograd.grad(make_loss(plain)(reference / s, target / s), reference)
    torch.testing.assert_close(grad, expected)
    per_sample = per_sample_loss(scaled)
    assert per_sample is not None
    torch.testing.assert_close(per_sample(out, target).mean(), value)


def test_label_smoothing_on_a_regression_names_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"train\.label_smoothing: 0\.1.*regression.*remove"):
        make_loss(spec("mse", "none", "regression", label_smoothing=0.1))


CLASSIFIERS = [("cross_entropy", "softmax"), ("cross_entropy", "sigmoid"), ("bce", "sigmoid"),
               ("bce", "softmax"), ("mse", "sigmoid"), ("mse", "softmax")]  # fmt: skip


# Label smoothing is a cross-entropy setting: the other losses are tried without it.
MEMBER_CASES = [
    (n, a, s) for n, a in CLASSIFIERS for s in (0.0, 0.1) if n == "cross_entropy" or not s
]


@pytest.mark.parametrize(("name", "act", "smoothing"), MEMBER_CASES)
@pytest.mark.parametrize("weights", [None, (0.2, 1.0, 3.5)])
def test_member_means_give_each_member_its_own_loss(
    name: str, act: str, weights: tuple[float, ...] | None, smoothing: float
) -> None:
    """Stacked members' losses in one call equal ``make_loss`` on each member alone, class
    weights and label smoothing included; ``None`` only where torch's weighting does not
    split by row (softmax cross-entropy with both)."""
    loss = LossSpec(name, act, 3, label_smoothing=smoothing, class_weights=weights)
    logits, target = torch.randn(4, 16, 3), torch.randint(0, 3, (4, 16))
    means = member_means(loss)
    if weights and smoothing and act == "softmax":
        assert means is None
        return
    assert means is not None
    alone = torch.stack([make_loss(loss)(logits[k], target[k]) for k in range(4)])
    torch.testing.assert_close(means(logits, target), alone)


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_member_means_of_a_regression_loss(name: str) -> None:
    loss = LossSpec(name, "none", 2, "regression", huber_delta=0.5)
    out, target = torch.randn(3, 10, 2), torch.randn(3, 10, 2)
    means = member_means(loss)
    assert means is not None
    alone = torch.stack([make_loss(loss)(out[k], target[k]) for k in range(3)])
    torch.testing.assert_close(means(out, target), alone)
