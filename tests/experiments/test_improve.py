"""``hone improve`` on a deliberately underfitting and a deliberately overfitting config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hone.config import load_config
from hone.experiments.improve import improve
from hone.experiments.probe import HELD_BACK
from hone.store import RunStore

UNDERFIT = {
    "name": "underfit",
    "data": {"dataset": "spiral", "params": {"n_samples": 600}, "split": "6:2:2"},
    "model": {"hidden": [2], "activation": "leaky_relu"},
    "train": {"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 40},
}
OVERFIT = {
    "name": "overfit",
    "data": {"dataset": "moons", "params": {"n_samples": 100, "noise": 0.4}, "split": "6:2:2"},
    "model": {"hidden": [128, 128], "activation": "leaky_relu"},
    "train": {"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 120, "batch_size": 16},
}


def check(result: dict[str, Any], higher: bool) -> None:
    assert result["adopted"], result["rejected"]
    first = result["adopted"][0]
    assert first["verdict"] == "better" and first["name"].startswith("round 1: ")
    base, final = result["baseline"], result["final_summary"]
    if higher:
        assert final["ci_low"] > base["ci_high"] or first["t_ci_low"] > 0
    else:
        assert final["ci_high"] < base["ci_low"] or first["t_ci_high"] < 0
    load_config(__import__("yaml").safe_load(result["final_config"]))  # ready for hone run


def test_improve_fixes_underfitting(store: Path) -> None:
    with RunStore(store) as rs:
        result = improve(rs, load_config(UNDERFIT), seeds=3, metric="val_accuracy", budget_runs=9)
    check(result, higher=True)
    assert any(code in result["adopted"][0]["name"] for code in ("underfitting", "not_converged"))
    assert result["runs_used"] <= 9


@pytest.mark.slow
def test_improve_fixes_overfitting(store: Path) -> None:
    with RunStore(store) as rs:
        result = improve(rs, load_config(OVERFIT), seeds=3, metric="val_loss", budget_runs=9)
    check(result, higher=False)
    assert "overfitting" in result["adopted"][0]["name"]


def test_a_config_without_a_validation_split_is_improved_on_training_rows_held_back(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hone improve`` with no config (the Keras-style blobs baseline: 80/20, no validation
    split) stopped at once: comparisons need a validation split. Each run now holds back a
    share of its training rows and is compared on them; the final config keeps its split."""
    from tests.cli.test_app import cli

    split = {"train": 0.8, "test": 0.2}
    cfg = load_config({**UNDERFIT, "data": {**UNDERFIT["data"], "split": split}})
    with RunStore(store) as rs:
        result = improve(rs, cfg, seeds=3, metric="val_accuracy", budget_runs=9,
                         held_back=HELD_BACK)  # fmt: skip
        record = rs.get_experiment(result["experiment"])
        runs = [rs.get_run(r["run_id"], with_history=False) for r in record.runs]
    check(result, higher=True)
    assert result["held_back"] == HELD_BACK and record.spec["held_back"] == HELD_BACK
    trained = runs[0].config["data"]["split"]
    assert trained["val"] == pytest.approx(0.8 * HELD_BACK)
    assert trained["train"] == pytest.approx(0.8 * (1 - HELD_BACK))
    final = load_config(__import__("yaml").safe_load(result["final_config"]))
    assert final.data.split == cfg.data.split  # the user's split, with what was adopted
    code, out, err = cli(capsys, "improve", "--budget", "3", "--store", str(store), "--json")
    assert code == 0, err
    assert json.loads(out)["held_back"] == HELD_BACK


HUBER = {
    "name": "huber",
    "data": {"dataset": "regression", "params": {"n_samples": 500, "n_features": 4, "noise": 10},
             "split": "6:2:2", "preprocess": {"scale": "standard"}},
    "model": {"hidden": [32, 32]},
    "train": {"loss": "huber", "huber_delta": 0.001, "epochs": 30,
              "optimizer": {"name": "sgd", "lr": 0.01}},
}  # fmt: skip


@pytest.mark.parametrize(("metric", "adopted"), [("val_loss", False), ("val_r2", True)])
def test_a_change_of_what_the_loss_measures_is_judged_on_a_metric_that_does_not_move(
    store: Path, metric: str, adopted: bool
) -> None:
    """A Huber delta of 0.001 under SGD caps every step (its loss is a thousandth of MSE's):
    the diagnosis prescribes delta 1. Judged on val_loss, that change would be read off a
    loss on another scale, so it is not tried, and said why; on val_r2 it is adopted."""
    with RunStore(store) as rs:
        result = improve(rs, load_config(HUBER), seeds=3, metric=metric, budget_runs=7)
    names = {c["name"]: c for c in result["considered"]}
    delta = [c for c in result["considered"] if c["patch"].get("train.huber_delta") == 1.0]
    if adopted:
        assert result["adopted"][0]["patch"]["train.huber_delta"] == 1.0
    else:
        assert delta and delta[0]["fate"].startswith("not tried: it changes what val_loss")
        assert not any(a["patch"].get("train.huber_delta") for a in result["adopted"])
    assert names  # the round considered something


def test_a_baseline_that_diverges_is_rescued_by_a_change_that_trains(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A baseline whose every seed diverges has no value to pair a gain with. A candidate
    whose runs all train is better (it was rejected as "runs failed or diverged", the
    baseline's fault), one that diverges too is rejected with the count, and the ladder
    prints "-" for the baseline's missing mean (``experiments show`` crashed on it)."""
    from tests.cli.test_app import cli

    train = {"optimizer": {"name": "adam", "lr": 1e6}, "epochs": 3}
    cfg = load_config({"name": "blowup", "data": {"dataset": "moons", "split": "6:2:2"},
                       "train": train})  # fmt: skip
    with RunStore(store) as rs:
        result = improve(rs, cfg, seeds=3, metric="val_accuracy", budget_runs=9)
    assert result["baseline"]["n"] == 0
    adopted = result["adopted"][0]
    assert adopted["verdict"] == "better" and "3 of 3 runs diverged" in adopted["note"]
    assert load_config(cfg, adopted["patch"]).train.optimizer.lr < 1
    for r in result["rejected"]:
        assert "diverged" in r["reason"] or r["reason"].startswith("helped less")
    code, out, err = cli(capsys, "experiments", "show", result["experiment"], "--store",
                         str(store))  # fmt: skip
    assert code == 0, err
    assert "baseline: val_accuracy - [-, -] (n=0)" in out and "nan" not in out.lower()
    from hone.report import render_report

    with RunStore(store) as rs:
        page = render_report(rs, result["experiment"], store / "improve.html").read_text()
    assert "this change trains in every seed" in page and "gain - [-, -]" not in page
