from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml

from hone.config import load_config
from hone.errors import ConfigError
from hone.experiments.tune import load_space, tune
from hone.store.studies import open_storage
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


@pytest.mark.parametrize("stack", ["auto", "off"])
def test_a_grid_is_searched_once_stacked_or_not(tmp_path: Path, stack: str) -> None:
    """Stacked, a grid's points were all proposed before any was told, so a budget past the
    grid's 4 points proposed them again (one at a time, Optuna stops the grid)."""
    cfg = base(**{"train.epochs": 1})
    specs = load_space(space(tmp_path, GRID_SPACE), cfg)  # type: ignore[arg-type]
    kw = {"metric": "val_accuracy", "store": str(tmp_path / "s"), "storage": None,
          "study_name": "g", "sampler": "grid", "pruner": "none", "stack": stack}  # fmt: skip
    result = tune(cfg, specs, trials=10, **kw)  # type: ignore[arg-type]
    points = [json.dumps(t["params"], sort_keys=True) for t in result.trials]
    assert len(points) == 4 and len(set(points)) == 4
    if stack == "auto":  # resumed, an exhausted grid trains nothing more
        assert len(tune(cfg, specs, trials=3, **kw).trials) == 4  # type: ignore[arg-type]


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


def test_study_resumes_from_its_journal(tmp_path: Path) -> None:
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
    journal = open_storage(str(tmp_path / "s" / "studies.journal"))
    assert len(optuna.load_study(study_name="resumable", storage=journal).trials) == 5
    assert not (tmp_path / "s" / "studies.db").exists()


def test_a_study_begun_in_the_sqlite_file_resumes_there(tmp_path: Path) -> None:
    """Stores from before the journal keep their studies in studies.db; they resume there."""
    cfg = base()
    specs = load_space(space(tmp_path), cfg)  # type: ignore[arg-type]
    store = tmp_path / "s"
    store.mkdir()
    db = f"sqlite:///{(store / 'studies.db').resolve()}"
    kw = {"metric": "val_accuracy", "store": str(store), "study_name": "old", "sampler": "tpe",
          "pruner": "none"}  # fmt: skip
    tune(cfg, specs, trials=2, storage=db, **kw)  # type: ignore[arg-type]
    again = tune(cfg, specs, trials=1, storage=None, **kw)  # type: ignore[arg-type]
    assert again.storage == db and again.counts["complete"] == 3
    tune(cfg, specs, trials=1, storage=None, **{**kw, "study_name": "new"})  # type: ignore[arg-type]
    assert (store / "studies.journal").is_file()


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
        # Every value a trial can draw is checked before the study: these stopped a study
        # at the first trial that drew them (stacked, failing trials that never trained).
        ("model.dropout: {type: float, low: 0.0, high: 1.5}\n", "(?s)could draw 1.5.*less than 1"),
        ("model.activation: {type: categorical, choices: [relu, bogus]}\n", "draw 'bogus'"),
        ("train.batch_size: {type: float, low: 8, high: 64}\n", "use type: int"),
        # Mistakes in an entry's fields were tracebacks, or silently ignored
        ('train.optimizer.lr: {type: float, low: "a", high: 0.1}\n', "numbers low < high"),
        (
            "train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true, step: 0.01}\n",
            "not with log",
        ),
        ("train.optimizer.lr: {type: float, low: 0.001, high: 0.1, step: -0.01}\n", "step must"),
        ("train.optimizer.lr: {type: float, low: 0.001, high: 0.1, lgo: true}\n", "field 'lgo'"),
        ("train.batch_size: {type: int, low: 8, high: 64.5}\n", "whole numbers"),
    ):
        with pytest.raises(ConfigError, match=match):
            load_space(space(tmp_path, text), cfg)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="space file not found"):
        load_space(tmp_path / "none.yaml", cfg)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="empty; give one entry per config key"):
        load_space(space(tmp_path, "\n"), cfg)  # type: ignore[arg-type]


def test_a_resumed_study_proposes_new_trials_and_a_typo_makes_no_study(tmp_path: Path) -> None:
    """Each run of the command seeded the sampler alike, so adding trials to a study with
    a random sampler (or in TPE's random start-up) proposed the first trials again. A bad
    sampler or pruner name made the study before it failed, taking its name."""
    cfg = base(**{"train.epochs": 1})
    specs = load_space(space(tmp_path), cfg)  # type: ignore[arg-type]
    kw = {"metric": "val_accuracy", "store": str(tmp_path / "s"), "storage": None,
          "study_name": None, "pruner": "none", "stack": "off"}  # fmt: skip
    for bad in ({"sampler": "randon"}, {"sampler": "random", "pruner": "medain"}):
        with pytest.raises(ConfigError):
            tune(cfg, specs, trials=2, **{**kw, "sampler": "random", **bad})  # type: ignore[arg-type]
    assert not (tmp_path / "s" / "studies.journal").exists()
    first = tune(cfg, specs, trials=3, sampler="random", **kw)  # type: ignore[arg-type]
    again = tune(cfg, specs, trials=3, sampler="random", **kw)  # type: ignore[arg-type]
    params = [json.dumps(t["params"], sort_keys=True) for t in again.trials]
    assert len(params) == 6 and params[3:] != params[:3]
    assert [t["params"] for t in first.trials] == [t["params"] for t in again.trials[:3]]


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
                  storage=None, study_name="d", sampler="grid", pruner=pruner,
                  stack="off")  # fmt: skip
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
                         "--seeds-final", "0", "--store", str(store), "--stack", "off")  # fmt: skip
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


def test_trials_one_by_one_are_each_a_whole_run(tmp_path: Path) -> None:
    """``--stack off``: the trials record through one store open for the whole study; each
    is its own run with its history, weights and final run.json, a pruned one as pruned."""
    from hone.store import RunStore

    cfg = base(**{"train.epochs": 6})
    specs = load_space(space(tmp_path), cfg)  # type: ignore[arg-type]
    result = tune(cfg, specs, trials=8, metric="val_loss", store=str(tmp_path / "s"),  # type: ignore[arg-type]
                  storage=None, study_name="off", sampler="random", pruner="median",
                  stack="off")  # fmt: skip
    assert len({t["run_id"] for t in result.trials}) == 8
    with RunStore(tmp_path / "s") as rs:
        for t in result.trials:
            record = rs.get_run(t["run_id"])
            assert rs.shown_status(record) == t["status"] in ("completed", "pruned")
            assert record.history["epoch"] == list(range(1, record.epochs_run + 1))
            assert record.epochs_run == (6 if t["status"] == "completed" else t["pruned_epoch"])
            folder = rs.run_dir(record.id)
            assert (folder / "weights.safetensors").is_file()
            assert json.loads((folder / "run.json").read_text()) == record.to_json()


# Stacked trials (--stack auto, the default): trials of one shape train as one stacked model.
WIDE_SPACE = """
train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true}
train.optimizer.weight_decay: {type: float, low: 1.0e-6, high: 1.0e-2, log: true}
model.dropout: {type: float, low: 0.01, high: 0.5}
model.init: {type: categorical, choices: [he_normal, xavier_uniform]}
"""


def _stacked(tmp_path: Path, text: str = WIDE_SPACE, **kw: object) -> object:
    cfg = base(**kw.pop("config", {}))  # type: ignore[arg-type]
    specs = load_space(space(tmp_path, text), cfg)  # type: ignore[arg-type]
    args = {"trials": 12, "metric": "val_accuracy", "store": str(tmp_path / "s"),
            "storage": None, "study_name": "st", "sampler": "random", "pruner": "none",
            **kw}  # fmt: skip
    return tune(cfg, specs, **args)  # type: ignore[arg-type]


def test_stacked_trials_are_each_their_own_run(tmp_path: Path) -> None:
    from hone.store import RunStore

    result = _stacked(tmp_path, stack_size=5)
    assert result.counts["complete"] == 12  # type: ignore[attr-defined]
    trials = result.trials  # type: ignore[attr-defined]
    assert all(len(t["intermediate"]) == 4 for t in trials)  # a report every epoch
    with RunStore(tmp_path / "s") as rs:
        records = [rs.get_run(t["run_id"]) for t in trials]
    assert len({r.id for r in records}) == 12
    assert all(r.status == "completed" and r.extra["stacked"]["members"] >= 2 for r in records)
    by_trial = {t["number"]: t["value"] for t in trials}
    for r in records:  # each run's metric is its trial's value
        assert r.metrics["val_accuracy"] == by_trial[r.extra["stacked"]["trial"]]
        assert r.config["model"]["dropout"] > 0
    storage = open_storage(str(tmp_path / "s" / "studies.journal"))
    assert optuna.load_study(study_name="st", storage=storage).user_attrs["stacked"]["size"] == 5


def test_shapes_group_trials_and_a_stacked_study_resumes(tmp_path: Path) -> None:
    result = _stacked(tmp_path, SPACE, trials=8, stack_size=4)
    assert result.counts["complete"] == 8  # type: ignore[attr-defined]
    again = _stacked(tmp_path, SPACE, trials=4, stack_size=4)
    assert again.counts["complete"] == 12 and again.counts["running"] == 0  # type: ignore[attr-defined]
    # Each run records the width of the stack it trained in: the trials of its shape that
    # trained with it (each run's seconds are its share of the stack's), not the width
    # asked for (a lone trial of its shape recorded 4, its wall time divided by 4).
    from hone.store import RunStore

    with RunStore(tmp_path / "s") as rs:
        runs = [rs.get_run(t["run_id"], with_history=False) for t in again.trials]  # type: ignore[attr-defined]
    assert any(r.extra["stacked"]["members"] < 4 for r in runs)
    assert all(r.extra["stacked"]["members"] <= 4 for r in runs)


@pytest.mark.parametrize("refill", [True, False])
def test_pruned_members_end_as_pruned_trials(tmp_path: Path, refill: bool) -> None:
    from hone.store import RunStore

    result = _stacked(tmp_path, trials=16, sampler="tpe", pruner="median", stack_size=8,
                      refill=refill, config={"train.epochs": 8})  # fmt: skip
    counts = result.counts  # type: ignore[attr-defined]
    assert counts["complete"] + counts["pruned"] == 16 and counts["running"] == 0
    pruned = [t for t in result.trials if t["state"] == "pruned"]  # type: ignore[attr-defined]
    assert pruned, "the median pruner pruned nothing: the test checks nothing"
    with RunStore(tmp_path / "s") as rs:
        for t in pruned:
            record = rs.get_run(t["run_id"])
            assert record.status == "stopped" and record.message.startswith("pruned")
            # frozen from the epoch it was pruned at: no more epochs recorded, no more reports
            stopped_at = t["pruned_epoch"]
            assert 1 <= stopped_at <= 8 and len(record.history["epoch"]) == stopped_at
            assert max(t["intermediate"]) == stopped_at
    assert min(t["pruned_epoch"] for t in pruned) < 8  # some stopped while their stack trained


@pytest.mark.parametrize(("stack", "size", "says"), [
    ("off", 4, "with --stack off"), ("auto", 0, "1 or more"), ("auto", -2, "1 or more"),
])  # fmt: skip
def test_a_stack_size_is_a_positive_count_with_stack_auto(
    tmp_path: Path, stack: str, size: int, says: str
) -> None:
    with pytest.raises(ConfigError, match="--stack-size") as info:
        _stacked(tmp_path, stack=stack, stack_size=size)
    assert says in str(info.value)
    assert not (tmp_path / "s" / "studies.journal").exists()  # refused before a study is made


def test_cli_refuses_a_stack_size_with_stack_off(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 1, "telemetry": False})))
    code, _, err = cli(capsys, "tune", str(config), "--space", str(space(tmp_path, WIDE_SPACE)),
                       "--stack", "off", "--stack-size", "4", "--store", str(store))  # fmt: skip
    assert code == 2 and "--stack-size" in err and "Traceback" not in err


def test_trials_that_cannot_stack_run_one_by_one_and_say_why_once(tmp_path: Path) -> None:
    said: list[str] = []
    result = _stacked(tmp_path, trials=3, config={"model.activation": "maxout"}, say=said.append)
    assert result.counts["complete"] == 3  # type: ignore[attr-defined]
    assert said == ["trials train one by one: model.activation: maxout"]


def test_a_big_model_on_a_cpu_declines_to_stack(tmp_path: Path) -> None:
    said: list[str] = []
    _stacked(tmp_path, trials=2, config={"model.hidden": [1000, 1000]}, say=said.append)
    assert len(said) == 1 and "on a CPU stacking trials does not pay" in said[0]


def test_the_diagnosis_pruner_stops_members_of_a_stack(tmp_path: Path) -> None:
    watch = {"patience": 1}
    cfg = {"train.epochs": 30, "telemetry": True, "model.hidden": [32, 32], "train.watch": watch}
    result = _stacked(tmp_path, INIT_SPACE, trials=4, sampler="grid", pruner="diagnosis",
                      config=cfg)  # fmt: skip
    zeros = [t for t in result.trials if t["params"]["model.init"] == "zeros"]  # type: ignore[attr-defined]
    assert zeros and all(t["state"] == "pruned" and t["pruned_by"] for t in zeros)


def test_cli_tune_takes_a_stack_size(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     store: Path) -> None:  # fmt: skip
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 3, "telemetry": False})))
    code, out, err = cli(capsys, "tune", str(config), "--space", str(space(tmp_path, WIDE_SPACE)),
                         "--trials", "6", "--stack-size", "3", "--seeds-final", "2",
                         "--store", str(store), "--json")  # fmt: skip
    assert code == 0, err
    payload = json.loads(out)
    assert (
        payload["counts"]["complete"] == 6 and payload["final"]["variants"][0]["summary"]["n"] == 2
    )
    from hone.store import RunStore

    with RunStore(store) as rs:  # the best config's seeded re-run is stacked too
        runs = rs.get_experiment(payload["final"]["experiment"]).runs
        assert all("stacked" in rs.get_run(r["run_id"], with_history=False).extra for r in runs)


@pytest.mark.slow
def test_tpe_proposes_the_same_distribution_stacked_or_not(tmp_path: Path) -> None:
    """Batch asking must not change what TPE proposes. For each of 8 study seeds, the same
    study with --stack off and auto; per parameter, each study's median proposal, compared
    across the seeds (Mann-Whitney U: trials within a study are not independent, studies
    are), and the best values found, paired by seed."""
    import statistics

    from scipy import stats

    keys = ("train.optimizer.lr", "train.optimizer.weight_decay", "model.dropout")
    medians: dict[str, dict[str, list[float]]] = {"off": {}, "auto": {}}
    best: dict[str, list[float]] = {"off": [], "auto": []}
    for seed in range(8):
        for stack in ("off", "auto"):
            result = _stacked(tmp_path, trials=24, sampler="tpe", stack=stack,
                              study_name=f"{stack}{seed}",
                              config={"seed": seed, "train.epochs": 3})  # fmt: skip
            best[stack].append(result.best_value)  # type: ignore[attr-defined]
            trials = result.trials  # type: ignore[attr-defined]
            for key in keys:
                values = [t["params"][key] for t in trials]
                medians[stack].setdefault(key, []).append(statistics.median(values))
    for key in keys:
        assert stats.mannwhitneyu(medians["off"][key], medians["auto"][key]).pvalue > 0.01, key
    differences = [a - b for a, b in zip(best["auto"], best["off"], strict=True)]
    assert abs(statistics.fmean(differences)) < 0.03


def test_a_shape_that_cannot_stack_trains_its_trials_alone(tmp_path: Path) -> None:
    from hone.store import RunStore

    text = WIDE_SPACE + "model.activation: {type: categorical, choices: [relu, maxout]}\n"
    result = _stacked(tmp_path, text, trials=8, stack_size=4)
    assert result.counts["complete"] == 8  # type: ignore[attr-defined]
    with RunStore(tmp_path / "s") as rs:
        for t in result.trials:  # type: ignore[attr-defined]
            stacked = "stacked" in rs.get_run(t["run_id"], with_history=False).extra
            assert stacked is (t["params"]["model.activation"] == "relu")


def test_a_pruner_on_a_metric_measured_at_the_end_says_it_prunes_nothing(
    tmp_path: Path,
) -> None:
    """Balanced accuracy (like a regression's R²) is measured once, when a run ends: the
    median pruner has no epoch to read it at, and the study says so instead of pruning
    nothing in silence. A per-epoch metric gets no such note."""
    said: list[str] = []
    result = _stacked(tmp_path, trials=4, metric="val_balanced_accuracy", pruner="median",
                      say=said.append)  # fmt: skip
    assert result.counts["complete"] == 4  # type: ignore[attr-defined]
    assert said == [
        "--pruner median reads the metric each epoch, but val_balanced_accuracy is measured "
        "once, when a run ends: no trial is pruned (only the loss and accuracy are measured "
        "each epoch)"
    ]
    said.clear()
    (tmp_path / "again").mkdir()
    _stacked(tmp_path / "again", trials=2, pruner="median", say=said.append)
    assert said == []


def test_a_search_over_what_the_loss_measures_is_tuned_on_r2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    """Tuned on val_loss, a search over the Huber delta would pick the smallest delta: its
    loss is a delta's share of MSE's whatever the fit. Such a space is tuned on val_r2 by
    default, and the study says so; a space of rates keeps val_loss."""
    from hone.experiments.compare import check_metric

    cfg = load_config(tiny(**{"data.dataset": "regression", "train.loss": "huber",
                              "train.epochs": 1, "telemetry": False,
                              "data.params": {"n_samples": 100}}))  # fmt: skip
    delta = "train.huber_delta: {type: float, low: 0.001, high: 2.0, log: true}\n"
    assert check_metric(cfg, None, varied=["train.huber_delta"]) == "val_r2"
    assert check_metric(cfg, None, varied=["train.optimizer.lr"]) == "val_loss"
    config = tmp_path / "r.yaml"
    config.write_text(yaml.safe_dump(cfg.to_dict()))
    code, out, err = cli(capsys, "tune", str(config), "--space", str(space(tmp_path, delta)),
                         "--trials", "2", "--seeds-final", "0", "--pruner", "none",
                         "--store", str(store))  # fmt: skip
    assert code == 0 and "best trial val_r2" in out
    assert "tuned on val_r2: the space changes what the loss measures" in err


def test_a_trial_that_trained_every_epoch_is_complete_not_pruned() -> None:
    """A pruner that would prune every trial stops one before its last epoch; at the last
    epoch there is nothing left to save, and the trial is told complete."""
    import torch

    from hone.experiments.tune.trials import ReportToTrial
    from hone.train.state import TrainState

    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=2.0))  # fmt: skip
    model = torch.nn.Linear(1, 1)
    for epoch, pruned in ((2, True), (3, False)):
        report = ReportToTrial(study.ask(), "val_accuracy")
        state = TrainState(model, torch.optim.SGD(model.parameters(), lr=0.1), 3, 1)
        state.epoch, state.logs = epoch, {"val_accuracy": 0.5}
        report.on_epoch_end(state)
        assert report.pruned is pruned and state.stop_training is pruned


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_sigterm_to_the_parent_alone_stops_a_study_with_143(tmp_path: Path, jobs: str) -> None:
    """``kill PID`` or ``docker stop`` signal the parent only: with ``--jobs 2`` it waited
    for its workers to train every trial, then exited 0. It now passes Ctrl-C on to them.
    Stacked in one process, a study stopped by SIGTERM exited 130, as if by Ctrl-C."""
    import signal
    import subprocess
    import sys
    import time

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 5000, "telemetry": False})))
    store = tmp_path / "s"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hone.cli", "tune", str(config), "--space", str(space(tmp_path)),
         "--trials", "8", "--jobs", jobs, "--pruner", "none", "--seeds-final", "0", "-q",
         "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(store.glob("runs/*/config.yaml")) and time.monotonic() < deadline:
        time.sleep(0.2)  # a worker is training
    proc.send_signal(signal.SIGTERM)  # this process only, not its group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err  # 128 + SIGTERM, as `hone run` exits (it was 130)
    assert "interrupted" in err and "Traceback" not in err


def test_trials_a_killed_process_left_running_end_as_killed_on_resume(tmp_path: Path) -> None:
    """After kill -9 a study's trials stayed RUNNING for ever: out of every count, and read
    by TPE's constant liar as bad results. Each trial records its process; a resumed study
    ends those whose process is gone (a live one's, e.g. another --jobs worker's, stay)."""
    import os
    import socket
    import subprocess
    import sys

    from hone.experiments.tune.members import Asked, tell_failed

    cfg = base(**{"train.epochs": 1})
    specs = load_space(space(tmp_path), cfg)  # type: ignore[arg-type]
    kw = {"metric": "val_accuracy", "store": str(tmp_path / "s"), "storage": None,
          "study_name": "k", "sampler": "random", "pruner": "none"}  # fmt: skip
    tune(cfg, specs, trials=1, **kw)  # type: ignore[arg-type]
    study = optuna.load_study(study_name="k", storage=open_storage(
        str(tmp_path / "s" / "studies.journal")))  # fmt: skip
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    killed, mine, never = study.ask(), study.ask(), study.ask()
    killed.set_user_attr("owner", {"pid": int(dead.stdout), "host": socket.gethostname(),
                                   "started": 1.0})  # fmt: skip
    mine.set_user_attr("owner", {"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": 0.0})  # fmt: skip
    tell_failed([Asked(never, cfg, "")], study)  # type: ignore[arg-type]
    result = tune(cfg, specs, trials=1, **kw)  # type: ignore[arg-type]
    states = {t["number"]: (t["state"], t["status"]) for t in result.trials}
    assert states[killed.number] == ("fail", "killed")
    assert states[mine.number] == ("running", None)  # this process is alive
    assert states[never.number] == ("fail", "not started")
    assert result.counts["killed"] == 1 and result.counts["not_started"] == 1


def test_the_summary_counts_trials_that_never_started_apart_from_failures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After a Ctrl-C, 8 trials asked into stacks and never trained read as "9 failed
    (38 %)": a user goes looking for a bug in the space."""
    from hone.cli.search import _print_study
    from hone.experiments.tune import TuneResult

    counts = {"complete": 7, "pruned": 8, "fail": 9, "running": 0, "diverged": 0,
              "not_started": 8, "killed": 0}  # fmt: skip
    _print_study(TuneResult("s", "j", None, {}, None, {}, [], counts, []), "val_accuracy", {})
    out = capsys.readouterr().out
    assert "7 complete, 8 pruned, 1 failed (4%; 0 diverged), 8 never started" in out


def test_advice_points_at_the_cause(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Every trial pruned by a diagnosis finding said "narrow the space", where the base
    config (zero init) was the cause; CMA-ES drew categorical parameters at random, silently."""
    from hone.cli.search import _print_study
    from hone.experiments.tune import TuneResult

    counts = {"complete": 0, "pruned": 6, "fail": 0, "diverged": 0}
    _print_study(TuneResult("s", "j", None, {}, None, {}, [], counts, [], {"bad_init": [5] * 6}),
                 "val_accuracy", {})  # fmt: skip
    out = capsys.readouterr().out
    assert "base config is the likelier cause" in out and "narrow the space" not in out
    cfg = base(**{"train.epochs": 1})
    said: list[str] = []
    tune(cfg, load_space(space(tmp_path), cfg), trials=1, metric="val_accuracy",  # type: ignore[arg-type]
         store=str(tmp_path / "s"), storage=None, study_name="c", sampler="cmaes",
         pruner="none", say=said.append)  # fmt: skip
    assert any("categorical parameters at random" in s for s in said)
