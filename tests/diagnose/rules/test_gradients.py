"""``vanishing_gradients`` where the median over a whole run hides it: a deep sigmoid net that
stalled at chance until Adam pulled it out, a weight penalty that shrank every weight to
nearly zero, and a gradient too small to tell from none. Each is a real run of the generated
suite's held-out half (seeds 17 and 19), read through ``hone.diagnose`` as a user would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hone
from hone.config import Config
from hone.diagnose import Diagnosis
from hone.diagnose.evidence import Evidence
from hone.diagnose.rules.gradients import VanishingGradients
from hone.runs.result import RunResult


def _on_digits(
    store: Path, model: dict[str, Any], optimizer: dict[str, Any], seed: int
) -> tuple[RunResult, Diagnosis]:
    """A held-out family's recipe on digits (40 epochs, batch 32, early stopping with
    patience 5) with this model and optimizer, and its diagnosis."""
    result = hone.run({
        "data": {"dataset": "digits", "split": "6:2:2"},
        "model": model,
        "train": {"optimizer": optimizer, "epochs": 40, "batch_size": 32, "threads": 1,
                  "early_stopping": {"patience": 5}},
    }, store=store, seed=seed)  # fmt: skip
    return result, hone.diagnose(result.run_id, store)


def test_gradients_that_vanished_while_the_loss_stalled_are_named(store: Path) -> None:
    """Eight sigmoid layers of 32 on digits, Adam 0.0015: the loss stays at chance for about
    ten epochs, then falls; after 40 epochs training accuracy is about 0.5 where the same
    data allows 0.98. Over the whole run the first layer's gradient is 0.08x the last's;
    while the loss stalled it was about 1e-5x."""
    result, diagnosis = _on_digits(store, {"hidden": [32] * 8, "activation": "sigmoid"},
                                   {"name": "adam", "lr": 0.0015}, seed=3)  # fmt: skip
    assert result.metrics["train_accuracy"] < 0.8
    top = diagnosis.findings[0]
    assert top.code == "vanishing_gradients", [f.code for f in diagnosis.findings]
    assert top.evidence["stalled_epochs"] >= 3
    assert "model.activation" in top.causes
    # the saturating activation is the first cause, and its remedy comes first: on a deep
    # sigmoid spiral (8x64, SGD 0.1, 3 seeds) batch norm reached 0.33-1.0, leaky ReLU 1.0
    assert top.causes[0] == "model.activation"
    assert top.prescriptions[0].patch["model.activation"] == "leaky_relu"


def test_a_weight_penalty_that_starved_the_gradient_is_its_cause(store: Path) -> None:
    """AdamW with weight decay 27.9 on digits (4 x 64 ReLU): the weights shrink to a
    thousandth of their norm, the gradients with them, and the net scores chance. The
    gradients did vanish, but normalisation layers (which made it worse, measured) are not
    the remedy: less weight decay is."""
    _, diagnosis = _on_digits(
        store,
        {"hidden": [64, 64, 64, 64]},
        {"name": "adamw", "lr": 0.0015, "weight_decay": 27.9},
        seed=0,
    )
    top = diagnosis.findings[0]
    assert top.causes[0] == "train.optimizer.weight_decay", [f.code for f in diagnosis.findings]
    assert top.prescriptions[0].patch == {"train.optimizer.weight_decay": 0.01}
    assert all(f.causes[0] == "train.optimizer.weight_decay" for f in diagnosis.findings)


def test_gradients_too_small_to_tell_from_none_vanish_when_they_shrink_layer_by_layer(
    store: Path,
) -> None:
    """Seed 19's held-out miss: a CNN on digits with fourteen sigmoid layers of 32 stays at
    chance. Its first layer's gradient is about 1e-12 of the last's, shrinking layer by layer,
    and was read as "no gradient at all" (a dead or symmetric layer), so only underfitting
    was said."""
    conv = [{"filters": 8, "pool": "max2"}, {"filters": 16, "pool": "max2"}]
    model = {"kind": "cnn", "conv": conv, "hidden": [32] * 14, "activation": "sigmoid"}
    result, diagnosis = _on_digits(store, model, {"name": "adam", "lr": 0.003}, seed=2)
    assert result.metrics["train_accuracy"] < 0.2
    top = diagnosis.findings[0]
    assert top.code == "vanishing_gradients", [f.code for f in diagnosis.findings]
    assert top.evidence["first_to_last_grad_rms"] < 1e-9
    assert "model.activation" in top.causes


def _evidence(first_layers: list[float]) -> Evidence:
    """A network at chance whose gradient RMS per layer is ``first_layers`` then 1e-2."""
    rms = [*first_layers, 1e-2]
    layers = [f"hidden{i}.dense" for i in range(1, len(rms))] + ["output"]
    stats = {n: {"grad_norm": g, "numel": 1} for n, g in zip(layers, rms, strict=True)}
    sample = {"epoch": 1, "layers": stats}
    return Evidence(
        "r", "completed", "", Config().to_dict(),
        {"train_loss": [1.1, 1.1], "val_loss": [1.1, 1.1]},
        {"train_accuracy": 0.34, "val_accuracy": 0.33},
        telemetry={"layers": layers, "samples": [sample]},
        data={"task": "classification", "classes": 3},
    )  # fmt: skip


def test_a_first_layer_with_no_gradient_at_all_is_not_a_ratio() -> None:
    """Cut off (a dead or symmetric layer: exactly zero) is not vanishing; neither is a tiny
    gradient that does not shrink through the stack."""
    rule = VanishingGradients()
    assert rule.check(_evidence([1e-14, 1e-11, 1e-9, 1e-6, 1e-4])) is not None
    assert rule.check(_evidence([0.0, 1e-11, 1e-9, 1e-6, 1e-4])) is None
    assert rule.check(_evidence([1e-14, 1e-3, 1e-9, 1e-3, 1e-8])) is None
