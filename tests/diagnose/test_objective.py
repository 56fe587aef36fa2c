"""What the loss asks of the model, as a cause: class weights, bounded outputs, MSE on classes."""

from __future__ import annotations

from pathlib import Path

import hone
from hone.config import Config
from hone.diagnose.evidence import Evidence
from hone.diagnose.objective import bounded_output, skewed_class_weight


def _weighted(weights: dict[str, float] | str | None, counts: list[int]) -> Evidence:
    cfg = Config().to_dict()
    cfg["train"]["class_weight"] = weights
    classes = [str(i) for i in range(len(counts))]
    stats = {"train": {"n": sum(counts), "class_counts": counts}}
    data = {"task": "classification", "classes": classes, "stats": stats}
    return Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.9]}, {}, data=data)


def test_class_weights_that_tilt_the_loss_past_balancing_are_a_suspect() -> None:
    found = skewed_class_weight(_weighted({"0": 20.0}, [150, 150, 150, 150]))
    assert found is not None and found.key == "train.class_weight"
    assert found.remedies[0].patch == {"train.class_weight": None}  # balanced already
    # On imbalanced classes the remedy is weights that balance them.
    found = skewed_class_weight(_weighted({"0": 50.0}, [400, 100]))
    assert found is not None and found.remedies[0].patch == {"train.class_weight": "balanced"}
    # Weights that balance the counts (the minority's 4x for a quarter of the rows) are not.
    assert skewed_class_weight(_weighted({"1": 4.0}, [400, 100])) is None
    assert skewed_class_weight(_weighted({"0": 2.0}, [150, 150])) is None  # a mild tilt
    assert skewed_class_weight(_weighted("balanced", [400, 100])) is None
    assert skewed_class_weight(_weighted(None, [400, 100])) is None


def _regression(output: str, target: dict[str, str], y_mean: float, y_std: float) -> Evidence:
    cfg = Config().to_dict()
    cfg["model"]["output_activation"] = output
    data = {"task": "regression", "preprocess": {"target": target},
            "stats": {"train": {"n": 600, "y_mean": [y_mean], "y_std": [y_std]}}}  # fmt: skip
    return Evidence("r", "completed", "", cfg, {"train_loss": [1.0, 0.9]}, {}, data=data)


def test_an_output_bounded_to_0_1_cannot_reach_regression_targets_outside_it() -> None:
    found = bounded_output(_regression("sigmoid", {"kind": "standard"}, 0.0, 1.0))
    assert found is not None and found.key == "model.output_activation"
    assert found.remedies[0].patch == {"model.output_activation": "auto"}
    assert bounded_output(_regression("sigmoid", {"kind": "none"}, 250.0, 80.0)) is not None
    # Targets inside (0, 1), left unscaled: a sigmoid can reach them.
    assert bounded_output(_regression("sigmoid", {"kind": "none"}, 0.5, 0.2)) is None
    assert bounded_output(_regression("none", {"kind": "standard"}, 0.0, 1.0)) is None


def test_mse_on_classification_is_named_before_training_longer(tmp_path: Path) -> None:
    """The book's first rung on digits (sigmoid units and output, MSE, SGD at 0.01): val
    0.18 after 10 epochs with the loss still falling. Twice the epochs measured +0.09,
    cross-entropy +0.64 (5 paired seeds): the loss is the cause and the first remedy;
    training longer stays among the suspects, after it."""
    cfg = {
        "seed": 0,
        "data": {"dataset": "digits", "split": "6:2:2", "preprocess": {"scale": "standard"}},
        "model": {"hidden": [64], "activation": "sigmoid", "output_activation": "sigmoid",
                  "init": "torch_default", "bias_init": "torch_default"},
        "train": {"loss": "mse", "optimizer": {"name": "sgd", "lr": 0.01}, "batch_size": 8,
                  "epochs": 10},
    }  # fmt: skip
    result = hone.run(cfg, store=str(tmp_path), progress=False)
    under = hone.diagnose(result.run_id, store=str(tmp_path)).findings[0]
    assert under.code == "underfitting" and under.severity in ("warning", "critical")
    assert under.causes[:2] == ["train.loss", "train.epochs"]
    assert under.top_prescription().patch == {"train.loss": "cross_entropy",
                                               "model.output_activation": "auto"}  # fmt: skip
