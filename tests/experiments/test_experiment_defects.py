"""Experiments that never mislead: each wave-1 defect reproduced on real tiny runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

import hone
from hone.config import load_config
from hone.errors import ConfigError
from hone.experiments.compare import plan_experiment
from hone.experiments.improve import improve
from hone.experiments.variants import Variant
from hone.store import RunStore
from tests.cli.test_app import cli
from tests.conftest import store_row, tiny

FAST = {"train.epochs": 3, "telemetry": False}
UNDERFIT = {
    "name": "underfit",
    "data": {"dataset": "spiral", "params": {"n_samples": 300}, "split": "6:2:2"},
    "model": {"hidden": [2], "activation": "leaky_relu"},
    "train": {"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 15},
    "telemetry": {"per_epoch": 2},
}


def _wait_for_links(store: Path, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = store_row(store, "SELECT COUNT(*) FROM experiment_runs")
        if row and row[0] >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} runs were linked in {timeout} s")


def _ladder(result: dict[str, object]) -> list[tuple[str, object]]:
    return [(a["name"], a["patch"]) for a in result["adopted"]]  # type: ignore[attr-defined,index]


def test_improve_resumed_after_kill_ends_with_the_same_ladder(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(UNDERFIT))
    whole = tmp_path / "whole"
    with RunStore(whole) as rs:
        expected = improve(rs, load_config(config), seeds=3, metric="val_accuracy", budget_runs=15)
    killed = tmp_path / "killed"
    args = [sys.executable, "-m", "hone.cli", "improve", str(config), "--seeds", "3"]
    args += ["--budget", "15", "-q", "--store", str(killed)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_links(killed, 4)  # the baseline and the first candidate's first run
    proc.kill()
    proc.wait(30)
    with RunStore(killed) as rs:  # the improve's own; its probes are experiments too
        (exp_id,) = [e.id for e in rs.list_experiments() if e.kind == "improve"]
        probe = next(e.id for e in rs.list_experiments() if e.kind == "probe")
    wrong = subprocess.run(
        [sys.executable, "-m", "hone.cli", "improve", "--resume", probe, "--store", str(killed)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert wrong.returncode == 2 and f"hone compare --resume {probe}" in wrong.stderr
    code = subprocess.run(
        [sys.executable, "-m", "hone.cli", "improve", "--resume", exp_id, "--json",
         "--store", str(killed)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert code.returncode == 0, code.stderr
    resumed = json.loads(code.stdout)
    assert _ladder(resumed) == _ladder(expected)
    assert resumed["stop_reason"] == expected["stop_reason"]
    assert resumed["final_config"] == expected["final_config"]
    assert resumed["runs_used"] == expected["runs_used"]


def test_ctrl_c_stops_compare_records_it_and_exits_130(tmp_path: Path, store: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 3000, "telemetry": False})))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hone.cli", "compare", str(config), "--vary",
         "model.hidden=[8],[16]", "--seeds", "3", "-q", "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_for_links(store, 1)
    time.sleep(0.5)  # into the next run's training
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    with RunStore(store) as rs:
        exp = rs.list_experiments()[0]
        assert exp.status == "interrupted"
        interrupted = [r for r in rs.list_runs() if r.status == "interrupted"]
        linked = {r["run_id"] for r in rs.get_experiment(exp.id).runs}
    assert interrupted and not linked & {r.id for r in interrupted}  # never evidence


def test_metric_is_checked_before_anything_trains(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**FAST)))
    for metric, needle in (("val_acc", "did you mean 'val_accuracy'"), ("test_accuracy", "never")):
        code, _, err = cli(capsys, "compare", str(config), "--vary", "model.hidden=[8]",
                           "--metric", metric, "--store", str(store))  # fmt: skip
        assert code == 2 and needle in err
    regression = tmp_path / "r.yaml"
    regression.write_text(yaml.safe_dump({"data": {"dataset": "regression", "split": "6:2:2"},
                                          "train": {"loss": "mse", "epochs": 2}}))  # fmt: skip
    code, _, err = cli(capsys, "compare", str(regression), "--vary", "model.hidden=[8]",
                       "--metric", "val_accuracy", "--store", str(store))  # fmt: skip
    assert code == 2 and "regression" in err
    code, _, err = cli(capsys, "compare", str(config), "--vary", "train.loss=mae",
                       "--store", str(store))  # fmt: skip
    assert code == 2 and "does not fit a classification task" in err
    assert not (store / "runs").exists() or not any((store / "runs").iterdir())


def test_duplicate_and_reserved_variant_names_are_refused(store: Path) -> None:
    base = load_config(tiny(**FAST))
    with RunStore(store) as rs:
        with pytest.raises(ConfigError, match="used twice"):
            twice = [Variant("baseline", {}), Variant("a", {"seed": 1}, "baseline"),
                     Variant("a", {"seed": 2}, "baseline")]  # fmt: skip
            plan_experiment(rs, "compare", base, twice, [0, 1, 2], "val_accuracy")
        with pytest.raises(ConfigError, match="reserved"):
            plan_experiment(rs, "compare", base,
                            [Variant("baseline", {}), Variant("baseline", {"seed": 3}, "baseline")],
                            [0, 1, 2], "val_accuracy")  # fmt: skip


def test_edge_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**FAST)))
    for args in (["--seeds", "0"], ["--seeds", "-1"], ["--vary", ""]):
        extra = [] if "--vary" in args else ["--vary", "model.hidden=[8]"]
        code, _, err = cli(capsys, "compare", str(config), *extra, *args, "--store", str(store))
        assert code == 2 and "Traceback" not in err, args
    code, out, err = cli(capsys, "compare", str(config), "--vary", "model.hidden=[16],[8]",
                         "--seeds", "1", "--json", "--store", str(store))  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    aa = summary["variants"][1]
    assert aa["name"].endswith("(same as baseline)")  # an A/A request is run, and labelled
    assert aa["summary"]["ci_low"] is None  # one seed: no interval, not a zero-width one
    assert aa["vs"]["verdict"] == "too few seeds"


def test_tune_refuses_to_resume_a_different_study_and_reruns_on_fresh_seeds(
    tmp_path: Path, store: Path
) -> None:
    from hone.experiments.tune import load_space, tune

    base = load_config(tiny(**FAST))
    space = tmp_path / "space.yaml"
    space.write_text("train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true}\n")
    kw = {"trials": 2, "metric": "val_accuracy", "store": str(store), "storage": None,
          "study_name": None, "sampler": "random", "pruner": "none"}  # fmt: skip
    tune(base, load_space(space, base), **kw)  # type: ignore[arg-type]
    other = tmp_path / "other.yaml"
    other.write_text("model.hidden: {type: categorical, choices: [[8], [16]]}\n")
    with pytest.raises(ConfigError, match="different search space"):
        tune(base, load_space(other, base), **kw)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="different metric"):
        tune(base, load_space(space, base), **{**kw, "metric": "val_loss"})  # type: ignore[arg-type]
    result = tune(base, load_space(space, base), **kw)  # type: ignore[arg-type]
    assert result.counts["complete"] == 4  # the same search resumes


def test_tune_cli_reruns_the_best_on_fresh_seeds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**FAST)))
    space = tmp_path / "space.yaml"
    space.write_text("train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true}\n")
    code, out, err = cli(capsys, "tune", str(config), "--space", str(space), "--trials", "2",
                         "--seeds-final", "3", "--json", "--store", str(store))  # fmt: skip
    assert code == 0, err
    final_seeds = json.loads(out)["final"]["seeds"]
    assert 0 not in final_seeds and len(final_seeds) == 3  # trials were chosen on seed 0


def test_pruned_trials_are_recorded_as_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path
) -> None:
    from hone.experiments import tune as tune_module
    from hone.experiments.tune import study

    monkeypatch.setattr(
        study, "make_pruner", lambda name: optuna.pruners.ThresholdPruner(upper=0.0)
    )
    base = load_config(tiny(**FAST))
    space = tmp_path / "space.yaml"
    space.write_text("train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true}\n")
    result = tune_module.tune(
        base, tune_module.load_space(space, base), trials=2, metric="val_loss",
        store=str(store), storage=None, study_name="p", sampler="random", pruner="median",
    )  # fmt: skip
    assert result.counts["pruned"] == 2
    with RunStore(store) as rs:
        assert {r.status for r in rs.list_runs()} == {"stopped"}


def test_a_killed_run_shows_as_killed_and_cleanup_records_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 100000, "telemetry": False})))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hone.cli", "run", str(config), "-q", "--store", str(store)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.3)
        row = store_row(store, "SELECT epochs_run FROM runs")
        if row and row[0] > 0:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    code, out, _ = cli(capsys, "runs", "list", "--json", "--store", str(store))
    assert code == 0 and json.loads(out)[0]["status"] == "killed"
    code, out, _ = cli(capsys, "runs", "list", "--status", "killed", "--store", str(store))
    assert code == 0 and "killed" in out
    code, out, _ = cli(capsys, "runs", "cleanup", "--store", str(store))
    assert code == 0 and "marked 1" in out
    with RunStore(store) as rs:
        assert rs.list_runs()[0].status == "killed"


def test_improve_groups_prescriptions_by_what_they_do(store: Path) -> None:
    """Early stopping whose patience differs per seed is one candidate, not several."""
    from hone.experiments.improve import candidates

    overfit = {
        "data": {"dataset": "moons", "params": {"n_samples": 100, "noise": 0.4}, "split": "6:2:2"},
        "model": {"hidden": [128, 128], "activation": "leaky_relu"},
        "train": {"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 80, "batch_size": 16},
    }
    cfg = load_config(overfit)
    ids = [hone.run(cfg, store=str(store), seed=s).run_id for s in range(3)]
    with RunStore(store) as rs:
        proposals, considered = candidates(rs, ids, cfg)
    stopping = [p for _, p in proposals if "train.early_stopping" in p]
    assert len(stopping) == 1, proposals
    assert isinstance(stopping[0]["train.early_stopping"]["patience"], int)
    assert all("fate" in c for c in considered)
