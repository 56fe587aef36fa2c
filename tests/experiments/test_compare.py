from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from hone.api.results import result_of as _result
from hone.config import load_config
from hone.experiments.compare import (
    ExperimentInterrupted,
    plan_experiment,
    run_pending,
    summarize_experiment,
)
from hone.experiments.variants import grid, ladder
from hone.store import RunStore
from tests.cli.test_app import cli
from tests.conftest import store_row, tiny

FAST = {"train.epochs": 3, "telemetry": False}


def test_grid_runs_every_variant_on_the_same_seeds(store: Path) -> None:
    base = load_config(tiny(**FAST))
    with RunStore(store) as rs:
        exp = plan_experiment(
            rs, "compare", base, grid(base, ["model.hidden=[8],[32]"]), [0, 1, 2], "val_accuracy"
        )
        assert run_pending(rs, exp) == 9
        assert run_pending(rs, exp) == 0  # nothing left
        summary = summarize_experiment(rs, exp)
        seeds = {
            r["run_id"]: rs.get_run(r["run_id"], with_history=False).seed
            for r in rs.get_experiment(exp).runs
        }
    assert summary["complete"] and summary["runs_done"] == 9
    for row in summary["variants"]:
        assert [seeds[r] for r in row["run_ids"]] == [0, 1, 2]  # paired by seed
    assert all(row["vs"]["n"] == 3 for row in summary["variants"][1:])


@pytest.mark.parametrize("stack", ["auto", "off"])
def test_diverged_runs_are_counted_and_said_but_never_averaged(store: Path, stack: str) -> None:
    # A diverged run still has finite metrics (of the weights before they blew up); taking
    # them would flatter the variant, and dropping the run silently left "- (0)" unexplained.
    base = load_config(tiny(**{**FAST, "train.optimizer": {"name": "sgd", "lr": 0.05}}))
    with RunStore(store) as rs:
        variants = grid(base, ["train.optimizer.lr=1e6"])
        exp = plan_experiment(rs, "compare", base, variants, [0, 1, 2], "val_accuracy")
        assert run_pending(rs, exp, stack=stack) == 6
        assert run_pending(rs, exp, stack=stack) == 0  # a diverged seed is an outcome: kept
        summary = summarize_experiment(rs, exp)
        statuses = [
            rs.get_run(r, with_history=False).status for r in summary["variants"][1]["run_ids"]
        ]
    assert summary["complete"] and summary["runs_done"] == 6
    blown = summary["variants"][1]
    assert statuses == ["diverged"] * 3
    assert blown["n"] == 0 and blown["summary"]["n"] == 0 and "vs" not in blown
    assert (
        blown["missing"] == "3 of 3 runs have no val_accuracy (3 diverged); lower the learning rate"
    )
    assert summary["variants"][0]["missing"] == ""
    assert [row["diverged"] for row in summary["variants"]] == [0, 3]
    result = _result(summary)
    assert result.variants[1].missing == blown["missing"] and len(result.variants[1].run_ids) == 3
    assert "3 diverged" in result._repr_html_()


def test_ladder_compares_each_step_with_the_previous(store: Path) -> None:
    base = load_config(tiny(**FAST))
    steps = ladder(base, ["train.loss=bce", "model.activation=leaky_relu"])
    with RunStore(store) as rs:
        exp = plan_experiment(rs, "ladder", base, steps, [0, 1], "val_accuracy")
        run_pending(rs, exp)
        summary = summarize_experiment(rs, exp)
    assert [r.get("vs", {}).get("variant") for r in summary["variants"]] == [
        None,
        "baseline",
        steps[1].name,
    ]


def test_interrupted_experiment_resumes_without_duplicates(store: Path) -> None:
    base = load_config(tiny(**FAST))
    with RunStore(store) as rs:
        exp = plan_experiment(
            rs, "compare", base, grid(base, ["train.optimizer.lr=0.1,0.03"]), [0, 1], "val_accuracy"
        )

        def stop_after_two(label: str, done: int, total: int, active: list[str]) -> None:
            if done == 2:
                raise KeyboardInterrupt

        with pytest.raises(ExperimentInterrupted, match="--resume"):
            run_pending(rs, exp, progress=stop_after_two)
        assert len(rs.get_experiment(exp).runs) == 2
        assert rs.get_experiment(exp).status == "interrupted"
        assert run_pending(rs, exp) == 4
        runs = rs.get_experiment(exp).runs
    assert len(runs) == 6 and len({(r["variant"], r["seed"]) for r in runs}) == 6


def test_cli_compare_killed_then_resumed(tmp_path: Path, store: Path) -> None:
    config = tmp_path / "c.yaml"
    # Long enough that a stack of three seeds outlasts several polls: at 40 epochs a fast
    # machine finished all three variants between two polls.
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 300, "telemetry": False})))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hone.cli",
            "compare",
            str(config),
            "--vary",
            "model.hidden=[8],[32]",
            "--seeds",
            "3",
            "-q",
            "--store",
            str(store),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline, linked = time.monotonic() + 120, 0
    while time.monotonic() < deadline and linked < 2:
        time.sleep(0.05)
        row = store_row(store, "SELECT COUNT(*) FROM experiment_runs")
        linked = row[0] if row else 0
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert 2 <= linked < 9
    with sqlite3.connect(store / "runs.db") as db:
        (exp_id,) = db.execute("SELECT id FROM experiments").fetchone()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hone.cli",
            "compare",
            "--resume",
            exp_id,
            "--json",
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["complete"] and summary["runs_done"] == 9
    with sqlite3.connect(store / "runs.db") as db:
        pairs = db.execute("SELECT variant, seed FROM experiment_runs").fetchall()
    assert len(pairs) == len(set(pairs)) == 9


def test_cli_compare_table_and_experiment_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**FAST)))
    exp = tmp_path / "exp.yaml"
    exp.write_text("variants:\n  - {name: wide, patch: {model.hidden: [64]}}\n")
    code, out, _ = cli(
        capsys,
        "compare",
        str(config),
        "--experiment",
        str(exp),
        "--seeds",
        "2",
        "--store",
        str(store),
    )
    assert code == 0 and "wide" in out and "verdict" in out and "never used to choose" in out
    code, out, _ = cli(capsys, "experiments", "list", "--store", str(store))
    assert code == 0 and "exp-" in out
    code, _, err = cli(capsys, "compare", str(config), "--store", str(store))
    assert code == 2 and "--vary" in err
    # No validation split (the Keras-style 80/20): every run holds back a fifth of its
    # training rows to be compared on, and says so; the test split stays for the record.
    noval = tmp_path / "noval.yaml"
    noval.write_text(yaml.safe_dump(tiny(**{"data.split": "8:2"})))
    code, out, err = cli(capsys, "compare", str(noval), "--vary", "model.hidden=[4]",
                         "--seeds", "2", "--store", str(store), "--json")  # fmt: skip
    summary = json.loads(out)
    assert code == 0 and summary["held_back"] == 0.2
    with RunStore(store) as rs:
        split = rs.get_experiment(summary["experiment"]).spec["config"]["data"]["split"]
    assert summary["metric"] == "val_accuracy"
    assert split["val"] == pytest.approx(0.16) and split["train"] == pytest.approx(0.64)
    code, _, _ = cli(capsys, "report", summary["experiment"], "--store", str(store))
    page = (store / "reports" / f"{summary['experiment']}.html").read_text()
    assert code == 0 and "no validation split: on 20 % of the training rows, held back" in page
    code, _, err = cli(capsys, "compare", str(noval), "--vary", "model.hidden=[4]",
                       "--seeds", "1", "--store", str(store))  # fmt: skip
    assert code == 0 and "no validation split: every run holds back 20 %" in err
    code, _, err = cli(capsys, "compare", str(noval), "--vary", "model.hidden=[4]",
                       "--metric", "test_accuracy", "--store", str(store))  # fmt: skip
    assert code == 2 and "never uses to choose" in err


@pytest.mark.slow
def test_parallel_jobs_record_the_same_experiment(store: Path) -> None:
    base = load_config(tiny(**FAST))
    with RunStore(store) as rs:
        exp = plan_experiment(
            rs, "compare", base, grid(base, ["model.hidden=[8]"]), [0, 1], "val_accuracy"
        )
        assert run_pending(rs, exp, jobs=2) == 4
        sequential = plan_experiment(
            rs, "compare", base, grid(base, ["model.hidden=[8]"]), [0, 1], "val_accuracy"
        )
        run_pending(rs, sequential)
        a, b = summarize_experiment(rs, exp), summarize_experiment(rs, sequential)
    assert [r["values"] for r in a["variants"]] == [r["values"] for r in b["variants"]]


@pytest.mark.parametrize(("metric", "better"), [("val_r2", "higher"), ("val_rmse", "lower")])
def test_a_regression_is_compared_on_what_its_runs_measure(
    store: Path, metric: str, better: str
) -> None:
    """R², MAE and RMSE are recorded when a regression run ends, so a comparison may be made
    on them (not only on the loss); a metric of another task is refused by name."""
    from sklearn.metrics import mean_squared_error, r2_score

    from hone.assemble import build_run, load_run_data
    from hone.errors import ConfigError
    from hone.experiments.compare import check_metric

    cfg = load_config(tiny(**{**FAST, "data.dataset": "regression",
                              "data.params": {"n_samples": 200, "n_features": 4, "noise": 5},
                              "data.preprocess": {"scale": "standard"},
                              "train.epochs": 8}))  # fmt: skip
    assert check_metric(cfg, metric) == metric
    with pytest.raises(ConfigError, match=r"val_accuracy.*valid: .*val_r2, val_mae, val_rmse"):
        check_metric(cfg, "val_accuracy")
    # a learning rate 100 times smaller barely moves the net in 8 epochs: clearly worse
    with RunStore(store) as rs:
        exp = plan_experiment(rs, "compare", cfg, grid(cfg, ["train.optimizer.lr=0.0001"]),
                              [0, 1, 2], metric)  # fmt: skip
        run_pending(rs, exp)
        summary = summarize_experiment(rs, exp)
        slow = summary["variants"][1]
        assert slow["vs"]["verdict"] == "worse", slow
        delta = slow["vs"]["mean_diff"]
        assert (delta < 0) if better == "higher" else (delta > 0)
        # each run's value is its validation split's, as scikit-learn scores it
        record = rs.get_run(slow["run_ids"][0])
        data = load_run_data(cfg)
        model = build_run(cfg, data).model
        model.load_state_dict(rs.load_weights(record.id))
    model.eval()
    with torch.no_grad():
        pred = model(data.val.x).reshape(-1).numpy()
    y = data.val.y.reshape(-1).numpy()
    want = r2_score(y, pred) if metric == "val_r2" else mean_squared_error(y, pred) ** 0.5
    assert record.metrics[metric] == pytest.approx(want, rel=1e-4)


def test_variants_that_change_what_a_regression_loss_measures_are_compared_on_r2() -> None:
    """A Huber delta of 0.001 reports a thousandth of what delta 1 does for the same fit:
    by default such variants are compared on val_r2, others on val_loss as before."""
    from hone.experiments.compare import check_metric

    cfg = load_config(tiny(**{"data.dataset": "regression", "train.loss": "huber",
                              "data.params": {"n_samples": 200, "n_features": 4}}))  # fmt: skip
    assert check_metric(cfg, None, variants=grid(cfg, ["train.huber_delta=0.001"])) == "val_r2"
    assert check_metric(cfg, None, variants=grid(cfg, ["train.loss=mse"])) == "val_r2"
    assert check_metric(cfg, None, variants=grid(cfg, ["train.optimizer.lr=0.1"])) == "val_loss"
    assert check_metric(cfg, "val_loss", variants=grid(cfg, ["train.loss=mse"])) == "val_loss"


def test_cli_says_why_it_compares_a_regression_on_r2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = tmp_path / "r.yaml"
    config.write_text(yaml.safe_dump(tiny(**{**FAST, "data.dataset": "regression",
                                             "train.loss": "huber", "train.epochs": 1,
                                             "data.params": {"n_samples": 100}})))  # fmt: skip
    args = ["compare", str(config), "--vary", "train.huber_delta=0.1", "--seeds", "1",
            "--store", str(store)]  # fmt: skip
    code, out, _ = cli(capsys, *args, "--json")
    assert code == 0 and json.loads(out)["metric"] == "val_r2"
    code, out, err = cli(capsys, *args)
    assert code == 0 and "val_r2 (n)" in out
    assert "compared on val_r2: the variants change what the loss measures" in err
