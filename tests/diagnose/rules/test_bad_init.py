"""``bad_init`` on the activation statistics a run records at initialisation: symmetric units,
a scale that collapses or explodes with depth; not a single unit that starts dead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hone
from hone.config import Config
from hone.diagnose.evidence import Evidence
from hone.diagnose.rules.bad_init import BadInit


def _evidence(at_init: dict[str, dict[str, float]], init: str = "auto") -> Evidence:
    cfg = Config().to_dict()
    cfg["model"]["init"] = init
    return Evidence("r", "completed", "", cfg, {"train_loss": [2.3, 2.3, 2.3]},
                    {"train_accuracy": 0.1}, telemetry={"at_init": at_init},
                    data={"task": "classification"})  # fmt: skip


ALIVE = {"mean": 0.18, "std": 0.28, "unit_std": 0.2, "dead": 0.0, "off": 0.5}


def test_units_that_all_compute_the_same_thing_are_symmetric() -> None:
    zeros = {"mean": 0.0, "std": 0.0, "unit_std": 0.0, "dead": 1.0, "off": 1.0}
    found = BadInit().check(_evidence({"hidden1.act": zeros, "hidden2.act": zeros}, "zeros"))
    assert found is not None and found.evidence["symmetric_layers"] == ["hidden1.act",
                                                                       "hidden2.act"]  # fmt: skip


def test_a_scale_that_collapses_with_depth_is_bad_init() -> None:
    faint = {"mean": 0.001, "std": 0.002, "unit_std": 0.001, "dead": 0.0, "off": 0.5}
    found = BadInit().check(_evidence({"hidden1.act": ALIVE, "hidden2.act": faint}))
    assert found is not None and found.evidence["std_ratio_last_to_first"] < 0.1


def test_a_single_unit_dead_at_the_start_is_neither_symmetric_nor_a_collapsed_scale() -> None:
    # Generator seed 48's digits CNN of one filter and a hidden layer of one unit (train
    # accuracy 0.10): the unit started silent for every input, std 0 with no spread across
    # units to record. It was read as a symmetric init, then as a scale that collapses,
    # ahead of the one-unit layer that starves the ten outputs.
    one = {"conv1.act": {k: v for k, v in ALIVE.items() if k != "unit_std"},
           "hidden1.act": {"mean": 0.0, "std": 0.0, "dead": 1.0, "off": 1.0}}  # fmt: skip
    assert BadInit().check(_evidence(one)) is None


def test_the_one_unit_cnn_underfits_by_its_width(store: Path) -> None:
    cfg: dict[str, Any] = {
        "data": {"dataset": "digits", "split": "6:2:2"},
        "model": {"kind": "cnn", "conv": [{"filters": 1, "pool": "max2"}], "hidden": [1]},
        "train": {"optimizer": {"name": "adam", "lr": 0.003}, "epochs": 40, "batch_size": 32,
                  "early_stopping": {"patience": 5}},
    }  # fmt: skip
    run = hone.run(cfg, store=str(store), seed=4)
    found = hone.diagnose(run.run_id, store=str(store)).findings
    assert "bad_init" not in [f.code for f in found]
    assert found[0].code == "underfitting" and found[0].causes[0] == "model.hidden"
