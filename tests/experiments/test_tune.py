from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml

from hone.config import load_config
from hone.errors import ConfigError
from hone.experiments.tune import load_space, tune
from tests.cli.test_app import cli
from tests.conftest import tiny

SPACE = """
train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true}
model.hidden: {type: categorical, choices: [[8], [32]]}
train.batch_size: {type: int, low: 16, high: 64, step: 16}
"""
GRID_SPACE = """
train.optimizer.lr: {type: float, low: 0.01, high: 0.03, step: 0.02}
model.hidden: {type: categorical, choices: [[8], [32]]}
"""


def space(tmp_path: Path, text: str = SPACE) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def base(**over: object) -> object:
    return load_config(tiny(**{"train.epochs": 4, "telemetry": False, **over}))


@pytest.mark.parametrize("sampler", ["random", "grid", "qmc", "tpe", "cmaes"])
def test_every_sampler(tmp_path: Path, sampler: str) -> None:
    cfg = base()
    specs = load_space(space(tmp_path, GRID_SPACE if sampler == "grid" else SPACE), cfg)  # type: ignore[arg-type]
    result = tune(
        cfg,
        specs,
        trials=4,
        metric="val_accuracy",
        store=str(tmp_path / "s"),  # type: ignore[arg-type]
        storage=None,
        study_name=f"s-{sampler}",
        sampler=sampler,
        pruner="none",
    )
    assert result.counts["complete"] == 4 and result.best_value is not None
    assert set(result.best_params) == {s.key for s in specs}
    assert isinstance(result.best_params["model.hidden"], list)  # categorical lists decoded
    assert all(t["run_id"] for t in result.trials)


@pytest.mark.parametrize("pruner", ["none", "median", "hyperband", "asha"])
def test_every_pruner_gets_per_epoch_reports(tmp_path: Path, pruner: str) -> None:
    cfg = base(**{"train.epochs": 6})
    specs = load_space(space(tmp_path), cfg)  # type: ignore[arg-type]
    result = tune(
        cfg,
        specs,
        trials=6,
        metric="val_loss",
        store=str(tmp_path / "s"),  # type: ignore[arg-type]
        storage=None,
        study_name="p",
        sampler="random",
        pruner=pruner,
    )
    finished = [t for t in result.trials if t["state"] in ("complete", "pruned")]
    assert len(finished) == 6
    assert all(len(t["intermediate"]) >= 1 for t in finished)
    complete = [t for t in finished if t["state"] == "complete"]
    assert all(len(t["intermediate"]) == 6 for t in complete)


def test_study_resumes_from_sqlite(tmp_path: Path) -> None:
    cfg = base()
    specs = load_space(space(tmp_path), cfg)  # type: ignore[arg-type]
    kw = {
        "metric": "val_accuracy",
        "store": str(tmp_path / "s"),
        "storage": None,
        "study_name": "resumable",
        "sampler": "tpe",
        "pruner": "none",
    }
    tune(cfg, specs, trials=3, **kw)  # type: ignore[arg-type]
    again = tune(cfg, specs, trials=2, **kw)  # type: ignore[arg-type]
    assert again.counts["complete"] == 5
    storage = f"sqlite:///{(tmp_path / 's' / 'studies.db').resolve()}"
    assert len(optuna.load_study(study_name="resumable", storage=storage).trials) == 5


@pytest.mark.slow
def test_two_processes_share_one_study(tmp_path: Path) -> None:
    cfg = base()
    specs = load_space(space(tmp_path), cfg)  # type: ignore[arg-type]
    result = tune(
        cfg,
        specs,
        trials=4,
        metric="val_accuracy",
        store=str(tmp_path / "s"),  # type: ignore[arg-type]
        storage=None,
        study_name="shared",
        sampler="random",
        pruner="none",
        jobs=2,
    )
    assert result.counts["complete"] == 4
    assert len({t["number"] for t in result.trials}) == 4


def test_edge_of_range_warning(tmp_path: Path) -> None:
    cfg = base()
    # At such small learning rates more is better after 4 epochs: the best is the top value.
    narrow = "train.optimizer.lr: {type: float, low: 0.00001, high: 0.00003, step: 0.00001}\n"
    specs = load_space(space(tmp_path, narrow), cfg)  # type: ignore[arg-type]
    result = tune(
        cfg,
        specs,
        trials=3,
        metric="val_loss",
        store=str(tmp_path / "s"),  # type: ignore[arg-type]
        storage=None,
        study_name="edge",
        sampler="grid",
        pruner="none",
    )
    assert result.best_params["train.optimizer.lr"] == pytest.approx(3e-5)
    assert any("high edge" in w and "widen" in w for w in result.edge_warnings)


def test_bad_space_files(tmp_path: Path) -> None:
    cfg = base()
    for text, match in (
        ("train.optimizer.lr: {type: gauss}\n", "type"),
        ("train.optimizer.lr: {type: float, low: 1, high: 0.1}\n", "low < high"),
        ("train.nope: {type: int, low: 1, high: 3}\n", "train.nope"),
        ("model.hidden: {type: categorical}\n", "choices"),
    ):
        with pytest.raises(ConfigError, match=match):
            load_space(space(tmp_path, text), cfg)  # type: ignore[arg-type]


def test_cli_tune_reruns_the_best_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 4, "telemetry": False})))
    code, out, _ = cli(
        capsys,
        "tune",
        str(config),
        "--space",
        str(space(tmp_path)),
        "--trials",
        "3",
        "--seeds-final",
        "3",
        "--sampler",
        "random",
        "--json",
        "--store",
        str(store),
    )
    assert code == 0
    payload = json.loads(out)
    final = payload["final"]["variants"][0]
    assert final["summary"]["n"] == 3 and final["name"] == "best"
    assert payload["counts"]["complete"] == 3 and payload["metric"] == "val_accuracy"


INIT_SPACE = """
model.init: {type: categorical, choices: [auto, zeros]}
train.optimizer.lr: {type: float, low: 0.01, high: 0.03, step: 0.02}
"""


@pytest.mark.parametrize("pruner", ["diagnosis", "median+diagnosis"])
def test_the_diagnosis_pruner_stops_trials_with_a_critical_finding(
    tmp_path: Path, pruner: str
) -> None:
    cfg = base(**{"train.epochs": 40, "telemetry": True, "model.hidden": [32, 32]})
    specs = load_space(space(tmp_path, INIT_SPACE), cfg)  # type: ignore[arg-type]
    result = tune(cfg, specs, trials=4, metric="val_accuracy", store=str(tmp_path / "s"),  # type: ignore[arg-type]
                  storage=None, study_name="d", sampler="grid", pruner=pruner)  # fmt: skip
    zeros = [t for t in result.trials if t["params"]["model.init"] == "zeros"]
    healthy = [t for t in result.trials if t["params"]["model.init"] == "auto"]
    assert len(zeros) == 2 and all(t["state"] == "pruned" for t in zeros)
    assert {t["pruned_by"] for t in zeros} <= {"bad_init", "dead_units"}
    assert all(t["pruned_epoch"] < 20 for t in zeros)  # stopped early, not at the end
    assert all(t["state"] == "complete" for t in healthy) or pruner.startswith("median")
    assert sum(len(v) for k, v in result.pruned_by.items() if k != "metric") == 2
    from hone.store import RunStore

    with RunStore(tmp_path / "s") as rs:  # the pruned trial's run keeps its record
        record = rs.get_run(zeros[0]["run_id"])
    assert record.status == "stopped" and record.message.startswith("watch: ")


def test_pruner_names(tmp_path: Path) -> None:
    from hone.experiments.tune import parse_pruner

    assert parse_pruner("median+diagnosis") == ("median", True)
    assert parse_pruner("diagnosis") == ("none", True)
    assert parse_pruner("asha") == ("asha", False)
    for bad in ("mediam", "median+asha", "diagnosis+diagnosis"):
        with pytest.raises(ConfigError, match=r"--pruner.*median\+diagnosis"):
            parse_pruner(bad)


def test_cli_tune_says_what_each_finding_pruned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 40, "model.hidden": [32, 32]})))
    code, out, err = cli(capsys, "tune", str(config), "--space", str(space(tmp_path, INIT_SPACE)),
                         "--trials", "4", "--sampler", "grid", "--pruner", "diagnosis",
                         "--seeds-final", "0", "--store", str(store))  # fmt: skip
    assert code == 0, err
    assert "2 pruned" in out and "pruned by diagnosis: bad_init: 2 trials, at epoch" in out
    page = tmp_path / "study.html"
    code, _, err = cli(capsys, "report", "tiny-tune", "--out", str(page), "--store", str(store))
    assert code == 0, err
    html = page.read_text()
    assert "Pruned trials" in html and "diagnosis: bad_init" in html and "pruned (bad_init" in html


def test_trials_evaluate_only_the_split_they_are_judged_on(tmp_path: Path) -> None:
    from hone.runs import evidence_of
    from hone.runs.deferred import DEFERRED
    from hone.store import RunStore

    cfg = base()
    specs = load_space(space(tmp_path), cfg)  # type: ignore[arg-type]
    result = tune(cfg, specs, trials=2, metric="val_loss", store=str(tmp_path / "s"),  # type: ignore[arg-type]
                  storage=None, study_name="lazy", sampler="random", pruner="none")  # fmt: skip
    with RunStore(tmp_path / "s") as rs:
        for t in result.trials:
            record = rs.get_run(t["run_id"], with_history=False)
            assert record.extra[DEFERRED] == ["train", "test"]
            assert record.metrics["val_loss"] == t["value"]
        full = evidence_of(rs, result.best_run)  # what a report or diagnosis reads
    assert full.metrics["val_loss"] == result.best_value and "test_loss" in full.metrics
