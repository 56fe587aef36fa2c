"""The ``hone`` command: JSON schema, the blobs default, runs list/show/delete, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hone.cli import main
from tests.conftest import store_row, tiny


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def write_config(tmp_path: Path, **overrides: object) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(tiny(**overrides)))
    return path


def test_default_run_json_schema_and_accuracy(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    """`hone run` with no config: the Keras blobs baseline, 1000 epochs, reaches >= 0.8 test acc."""
    code, out, _ = cli(capsys, "run", "--json", "--store", str(store))
    assert code == 0
    result = json.loads(out)
    assert set(result) >= {"run_id", "status", "epochs_run", "metrics", "history", "wall_seconds"}
    assert result["status"] == "completed" and result["epochs_run"] == 1000
    assert set(result["metrics"]) == {
        f"{split}_{name}"
        for split in ("train", "test")
        for name in ("loss", "accuracy", "balanced_accuracy")
    }
    assert result["metrics"]["test_accuracy"] >= 0.8
    assert result["metrics"]["train_accuracy"] >= 0.8
    assert len(result["history"]["train_loss"]) == 1000
    assert isinstance(result["wall_seconds"], float)


def test_run_with_config_set_and_seed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = write_config(tmp_path)
    code, out, _ = cli(
        capsys,
        "run",
        str(config),
        "--set",
        "train.lr=0.05",
        "--set",
        "model.hidden=[8,8]",
        "--seed",
        "3",
        "--json",
        "--store",
        str(store),
    )
    assert code == 0
    result = json.loads(out)
    assert set(result["metrics"]) >= {"val_loss", "val_accuracy", "test_accuracy"}
    assert len(result["history"]["val_loss"]) == 5
    code, out, _ = cli(capsys, "runs", "show", result["run_id"], "--json", "--store", str(store))
    shown = json.loads(out)
    assert shown["config"]["model"]["hidden"] == [8, 8] and shown["seed"] == 3
    assert shown["config"]["train"]["optimizer"]["lr"] == 0.05
    assert shown["history"]["epoch"] == [1, 2, 3, 4, 5]


def test_runs_list_show_delete(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    config = write_config(tmp_path, name="listed")
    _, out, _ = cli(capsys, "run", str(config), "--json", "--store", str(store))
    run_id = json.loads(out)["run_id"]
    code, out, _ = cli(capsys, "runs", "list", "--store", str(store))
    assert code == 0 and run_id in out and "listed" in out
    code, out, _ = cli(capsys, "runs", "show", run_id[-6:], "--store", str(store))
    assert code == 0 and run_id in out and "accuracy" in out
    code, _, err = cli(capsys, "runs", "delete", run_id, "--store", str(store))
    assert code == 2 and "--yes" in err  # no terminal to confirm on: scripts say --yes
    code, out, _ = cli(capsys, "runs", "delete", run_id, "--store", str(store), "--yes")
    assert code == 0
    _, out, _ = cli(capsys, "runs", "list", "--json", "--store", str(store))
    assert json.loads(out) == []
    code, _, err = cli(capsys, "runs", "show", run_id, "--store", str(store))
    assert code == 2 and "no run" in err


def test_config_errors_exit_2_with_one_message(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    code, _, err = cli(capsys, "run", "--set", "train.batchsize=3", "--store", str(store))
    assert code == 2 and "did you mean 'batch_size'" in err and "Traceback" not in err
    assert not (store / "runs").exists()  # bad input records nothing


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (["run", "--set", "train.batchsize=3"], "config_error", "train.batchsize"),
        (["run", "--set", "train.optimizer.lr=abc"], "config_error", "train.optimizer.lr"),
        (["runs", "show", "nope"], "store_error", None),
        (["runs", "list", "--bogus"], "usage_error", "--bogus"),
        (["compare", "--seeds", "x"], "usage_error", "--seeds"),
    ],
)
def test_json_failures_print_a_json_error_on_stdout(
    capsys: pytest.CaptureFixture[str], store: Path, args: list[str], code: str, field: str | None
) -> None:
    """A script reading --json output learns why a command failed, not only that it did."""
    exit_code, out, err = cli(capsys, *args, "--json", "--store", str(store))
    assert exit_code == 2 and "error:" in err  # a person still reads it on stderr
    error = json.loads(out)["error"]
    assert error["code"] == code and error["field"] == field and error["message"]
    assert json.loads(out)["exit_code"] == 2 and "Traceback" not in err


def test_model_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "model")
    assert code == 0 and "hidden1.dense" in out and "output" in out
    assert "total params: 179" in out  # (2*25+25) + (25*4+4)


def test_console_script_exit_codes(tmp_path: Path, store: Path) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "hone.cli", "run", "--set", "train.epochs=0"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "train.epochs" in bad.stderr and "Traceback" not in bad.stderr


def test_a_fresh_process_skips_the_last_collections_and_keeps_its_run(tmp_path: Path) -> None:
    """The command freezes the collector at exit (after every later atexit handler, such as a
    store's), so the interpreter does not walk PyTorch's objects before it ends; the run it
    recorded is complete all the same."""
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "from hone.cli import main\n"
        "main()\n"
    )
    config = write_config(tmp_path, **{"train.epochs": 2})
    argv = ["run", str(config), "--json", "--store", str(tmp_path / "s")]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.split("\nfrozen")[0])
    assert done.stdout.rstrip().endswith("frozen True")
    row = store_row(tmp_path / "s", f"SELECT status FROM runs WHERE id = '{result['run_id']}'")
    assert row == ("completed",)


def test_ctrl_c_records_interrupted_run(tmp_path: Path, store: Path) -> None:
    config = write_config(tmp_path, **{"train.epochs": 100000})
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hone.cli", "run", str(config), "-q", "--store", str(store)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    epochs = 0
    while time.monotonic() < deadline and epochs == 0:
        time.sleep(0.5)
        row = store_row(store, "SELECT epochs_run FROM runs")
        epochs = row[0] if row else 0
    assert epochs > 0, "training never recorded an epoch"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    with sqlite3.connect(store / "runs.db") as db:
        status, recorded, run_id = db.execute("SELECT status, epochs_run, id FROM runs").fetchone()
    assert status == "interrupted" and recorded >= epochs
    assert (store / "runs" / run_id / "weights.safetensors").is_file()
