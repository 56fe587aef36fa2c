"""``vanishing_gradients`` where the median over a whole run hides it: a deep sigmoid net that
stalled at chance until Adam pulled it out, and a weight penalty that shrank every weight to
nearly zero. Both are real runs of the generated suite's held-out half (seed 17), read
through ``hone.diagnose`` as a user would."""

from __future__ import annotations

from pathlib import Path

import hone


def test_gradients_that_vanished_while_the_loss_stalled_are_named(store: Path) -> None:
    """Eight sigmoid layers of 32 on digits, Adam 0.0015: the loss stays at chance for about
    ten epochs, then falls; after 40 epochs training accuracy is about 0.5 where the same
    data allows 0.98. Over the whole run the first layer's gradient is 0.08x the last's;
    while the loss stalled it was about 1e-5x."""
    result = hone.run({
        "data": {"dataset": "digits", "split": "6:2:2"},
        "model": {"hidden": [32] * 8, "activation": "sigmoid"},
        "train": {"optimizer": {"name": "adam", "lr": 0.0015}, "epochs": 40, "batch_size": 32,
                  "threads": 1, "early_stopping": {"patience": 5}},
    }, store=store, seed=3)  # fmt: skip
    assert result.metrics["train_accuracy"] < 0.8
    diagnosis = hone.diagnose(result.run_id, store)
    top = diagnosis.findings[0]
    assert top.code == "vanishing_gradients", [f.code for f in diagnosis.findings]
    assert top.evidence["stalled_epochs"] >= 3
    assert "model.activation" in top.causes


def test_a_weight_penalty_that_starved_the_gradient_is_its_cause(store: Path) -> None:
    """AdamW with weight decay 27.9 on digits (4 x 64 ReLU): the weights shrink to a
    thousandth of their norm, the gradients with them, and the net scores chance. The
    gradients did vanish, but normalisation layers (which made it worse, measured) are not
    the remedy: less weight decay is."""
    result = hone.run({
        "data": {"dataset": "digits", "split": "6:2:2"},
        "model": {"hidden": [64, 64, 64, 64]},
        "train": {"optimizer": {"name": "adamw", "lr": 0.0015, "weight_decay": 27.9},
                  "epochs": 40, "batch_size": 32, "threads": 1,
                  "early_stopping": {"patience": 5}},
    }, store=store, seed=0)  # fmt: skip
    diagnosis = hone.diagnose(result.run_id, store)
    top = diagnosis.findings[0]
    assert top.causes[0] == "train.optimizer.weight_decay", [f.code for f in diagnosis.findings]
    assert top.prescriptions[0].patch == {"train.optimizer.weight_decay": 0.01}
    assert all(f.causes[0] == "train.optimizer.weight_decay" for f in diagnosis.findings)
