"""Nothing breaks, nothing is lost: signals, kills, full and read-only disks, damaged files,
hostile data and bad command-line arguments, each on real processes and files."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import hone
from benchmarks.faults import read_only, read_only_reason
from hone.cli import main
from hone.errors import DataError, HoneError, StoreError
from hone.store import RunStore
from tests.conftest import store_row, tiny


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def _start(tmp_path: Path, store: Path, **overrides: object) -> subprocess.Popen[str]:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny(**{"train.epochs": 100000, **overrides})))
    return subprocess.Popen(
        [sys.executable, "-m", "hone.cli", "run", str(config), "-q", "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_epochs(store: Path, count: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.3)
        row = store_row(store, "SELECT epochs_run FROM runs")
        if row and row[0] >= count:
            return int(row[0])
    raise AssertionError("training never recorded enough epochs")


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path, store: Path) -> None:
    proc = _start(tmp_path, store)
    epochs = _wait_epochs(store, 1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "SIGTERM" in err
    with RunStore(store) as rs:
        record = rs.list_runs()[0]
        assert record.status == "interrupted" and record.epochs_run >= epochs
        assert (rs.run_dir(record.id) / "weights.safetensors").is_file()


def test_kill_9_loses_at_most_the_epochs_since_the_last_checkpoint(
    tmp_path: Path, store: Path
) -> None:
    proc = _start(tmp_path, store, **{"train.checkpoint_every": 1})
    _wait_epochs(store, 5)
    time.sleep(1.5)  # past the one-second floor between checkpoints
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    with RunStore(store) as rs:
        record = rs.list_runs()[0]
        assert rs.shown_status(record) == "killed" and record.epochs_run >= 5
        weights = rs.load_weights(record.id)  # a complete checkpoint, never half-written
        assert weights and all(np.isfinite(v.numpy()).all() for v in weights.values())
        leftovers = [p for p in rs.run_dir(record.id).iterdir() if p.suffix == ".tmp"]
        assert not leftovers


def test_run_killed_with_9_resumes_from_its_checkpoint_with_a_continuous_history(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    # Enough epochs that the run cannot finish before it is killed, on any machine.
    proc = _start(tmp_path, store, **{"train.epochs": 3000, "train.checkpoint_every": 5})
    _wait_epochs(store, 5)
    time.sleep(1.2)  # a second checkpoint, past the one-second floor between them
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    with RunStore(store) as rs:
        record = rs.list_runs()[0]
        assert rs.shown_status(record) == "killed"
        assert (rs.run_dir(record.id) / "checkpoint.pt").is_file()
    code, out, err = cli(capsys, "run", "--resume", record.id[-6:], "--store", str(store))
    assert code == 0, err
    assert record.id in out
    with RunStore(store) as rs:
        done = rs.get_run(record.id)
        assert done.status == "completed" and done.epochs_run == 3000
        assert done.history["epoch"] == list(range(1, 3001))
        assert done.extra["resumed_from_epoch"] % 5 == 0
    code, _, err = cli(capsys, "run", "--resume", record.id, "--store", str(store))
    assert code != 0 and "nothing to resume" in err and "Traceback" not in err


def _digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.mark.skipif(bool(read_only_reason()), reason=read_only_reason() or "n/a")
def test_a_read_only_store_is_read_and_writing_commands_say_where_to_write(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    run_id = hone.run(tiny(**{"train.epochs": 2}), store=str(store)).run_id
    before = _digest(store)
    page = tmp_path / "page.html"
    try:
        with read_only(store) as view:
            for args in (["runs", "list"], ["runs", "show", run_id], ["diagnose", run_id],
                         ["eval", run_id], ["predict", run_id, "--index", "0"],
                         ["report", run_id, "--out", str(page)], ["store", "check"],
                         ["export", run_id, str(tmp_path / "m.pt")]):  # fmt: skip
                code, _, err = cli(capsys, *args, "--store", str(view))
                assert code == 0, (args, err)
            assert page.is_file()
            for args, needle in ((["report", run_id], "--out"), (["run"], "--store"),
                                 (["runs", "delete", run_id, "--yes"], "writable"),
                                 (["store", "repair"], "writable")):  # fmt: skip
                code, _, err = cli(capsys, *args, "--store", str(view))
                assert code == 2 and "read-only" in err and needle in err, (args, err)
                assert "Traceback" not in err
    except OSError as exc:
        pytest.skip(str(exc))
    assert _digest(store) == before  # nothing was written into it


@pytest.mark.parametrize("name", ["evaluation.json", "telemetry.json", "data.json", "run.json"])
@pytest.mark.parametrize("content", [b"", b"{garbage", b"\x00\xff" * 50, b"[1, 2]"])
def test_damaged_json_files_never_crash_the_readers(
    capsys: pytest.CaptureFixture[str], store: Path, name: str, content: bytes
) -> None:
    run_id = hone.run(tiny(**{"train.epochs": 2}), store=str(store)).run_id
    (store / "runs" / run_id / name).write_bytes(content)
    for args in (["runs", "list"], ["runs", "show", run_id], ["diagnose", run_id],
                 ["report", run_id], ["eval", run_id]):  # fmt: skip
        code, _, err = cli(capsys, *args, "--store", str(store))
        assert code in (0, 2) and "Traceback" not in err, (args, err)
        if code == 2:
            assert run_id in err or name in err, err


@pytest.mark.parametrize(
    "content", [b"", b"garbage", b"\x08\x00\x00\x00\x00\x00\x00\x00{}", "truncate", "foreign"]
)
def test_damaged_weights_name_the_run_and_the_file(
    capsys: pytest.CaptureFixture[str], store: Path, content: bytes | str
) -> None:
    run_id = hone.run(tiny(**{"train.epochs": 2}), store=str(store)).run_id
    path = store / "runs" / run_id / "weights.safetensors"
    if content == "truncate":
        path.write_bytes(path.read_bytes()[:40])
    elif content == "foreign":
        from safetensors.numpy import save_file

        save_file({"other": np.zeros(3, dtype=np.float32)}, str(path))
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    for args in (["eval", run_id], ["predict", run_id, "--index", "0"], ["report", run_id]):
        code, _, err = cli(capsys, *args, "--store", str(store))
        assert code in (0, 2) and "Traceback" not in err, (args, err)
    code, _, err = cli(capsys, "eval", run_id, "--store", str(store))
    assert code == 2 and run_id in err and "weights" in err
    with pytest.raises(HoneError, match="weights"):
        hone.run(tiny(**{"model.init_from": run_id, "train.epochs": 1}), store=str(store))


def test_deleting_a_run_that_is_training_is_refused(tmp_path: Path, store: Path) -> None:
    proc = _start(tmp_path, store)
    try:
        _wait_epochs(store, 1)
        with RunStore(store) as rs:
            run_id = rs.list_runs()[0].id
            with pytest.raises(StoreError, match="still training"):
                rs.delete_run(run_id)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def _npz(tmp_path: Path, **arrays: np.ndarray) -> str:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    return str(path)


def _gzip_bomb(tmp_path: Path) -> Path:
    folder = tmp_path / "mnist"
    folder.mkdir()
    header = bytes([0, 0, 8, 3]) + (10**6).to_bytes(4, "big") + (10**4).to_bytes(4, "big") * 2
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(header + b"\x00" * 1024)
    return folder


def test_bad_data_is_a_clear_error(tmp_path: Path) -> None:
    from hone.data.idx import read_idx

    csv_target_only = tmp_path / "t.csv"
    csv_target_only.write_text("label\na\nb\na\nb\n")
    tiny_csv = tmp_path / "three.csv"
    tiny_csv.write_text("f,label\n1,a\n2,b\n3,a\n")
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"f,label\n1,a\x00\n2,b\n")
    all_na = tmp_path / "na.csv"
    all_na.write_text("f,g,label\n" + "".join(f"{i},NA,{'ab'[i % 2]}\n" for i in range(20)))
    npy = tmp_path / "arr.npy"
    np.save(npy, np.ones((4, 2)))
    bomb = tmp_path / "bomb.npz"
    with __import__("zipfile").ZipFile(bomb, "w") as archive:
        header = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, "
        header += b"'shape': (100000000000, 10), }"
        archive.writestr("x.npy", header.ljust(128 - 1, b" ") + b"\n")
        archive.writestr("y.npy", header.ljust(127, b" ") + b"\n")
    cases = [
        {"dataset": "csv", "path": str(csv_target_only), "target": "label"},
        {"dataset": "csv", "path": str(tiny_csv), "target": "label", "split": "6:2:2"},
        {"dataset": "csv", "path": str(nul), "target": "label"},
        {"dataset": "csv", "path": str(all_na), "target": "label", "missing": "mean"},
        {"dataset": "npz", "path": _npz(tmp_path, x=np.ones(5), y=np.zeros(5))},
        {"dataset": "npz", "path": _npz(tmp_path, x=np.array(["a", "b"]), y=np.zeros(2))},
        {"dataset": "npz", "path": _npz(tmp_path, x=np.full((20, 2), np.nan), y=np.arange(20) % 2)},
        {"dataset": "npz", "path": str(npy)},
        {"dataset": "npz", "path": str(bomb)},
    ]
    for data in cases:
        with pytest.raises(DataError):
            hone.run({"data": data, "train": {"epochs": 1}}, store=str(tmp_path / "s"))
    started = time.monotonic()
    with pytest.raises(DataError, match="declares"):
        read_idx(_gzip_bomb(tmp_path) / "train-images-idx3-ubyte.gz")
    assert time.monotonic() - started < 5


def test_mnist_labels_out_of_range_or_altered_are_refused(tmp_path: Path, datasets: Path) -> None:
    import shutil

    folder = tmp_path / "mnist"
    shutil.copytree(datasets / "mnist", folder)
    labels = gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())
    altered = labels[:8] + bytes([(b + 1) % 10 for b in labels[8:]])  # shuffled labels
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(altered))
    with pytest.raises(DataError, match="differs from the official"):
        hone.run({"data": {"dataset": "mnist", "path": str(folder)}, "train": {"epochs": 1}},
                 store=str(tmp_path / "s"))  # fmt: skip


def test_batchnorm_trains_on_one_row_batches(tmp_path: Path) -> None:
    for overrides in (
        {"model.norm": "batch", "train.batch_size": 1, "data.params": {"n_samples": 60}},
        {"model.norm": "batch", "train.batch_size": 32, "data.params": {"n_samples": 1001}},
    ):
        result = hone.run(None, store=str(tmp_path / "s"), **{"train.epochs": 2, **overrides})
        assert result.status == "completed"


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--seed", str(2**64)],
        ["run", "--seed", "-5"],
        ["compare", "--vary", "model.hidden=[8]", "--seeds", "-1"],
        ["datacurve", "--seeds", "0"],
        ["tune", "--space", "SPACE", "--trials", "0"],
        ["tune", "--space", "SPACE", "--storage", "bogus://x", "--trials", "1"],
        ["lr-find", "--steps", "0"],
        ["improve", "--budget", "0"],
        ["report", "nothing-here"],
        ["predict", "nothing-here", "--index", "0"],
    ],
)
def test_bad_command_line_arguments_exit_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path, args: list[str]
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("train.optimizer.lr: {type: float, low: 0.001, high: 0.1, log: true}\n")
    args = [str(space) if a == "SPACE" else a for a in args]
    code, _, err = cli(capsys, *args, "--store", str(store))
    assert code == 2 and "Traceback" not in err, err


def test_report_out_must_be_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    run_id = hone.run(tiny(**{"train.epochs": 1}), store=str(store)).run_id
    code, _, err = cli(capsys, "report", run_id, "--out", str(tmp_path), "--store", str(store))
    assert code == 2 and "folder" in err


def test_predict_refuses_nan_and_empty_inputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: Path
) -> None:
    run_id = hone.run(tiny(**{"train.epochs": 1}), store=str(store)).run_id
    nan = tmp_path / "nan.csv"
    nan.write_text("nan,1.0\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for path, needle in ((nan, "NaN"), (empty, "empty")):
        code, _, err = cli(capsys, "predict", run_id, "--input", str(path), "--store", str(store))
        assert code == 2 and needle in err, err


def test_json_output_is_strict_even_with_nan_metrics(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    result = hone.run(tiny(**{"train.optimizer": {"name": "sgd", "lr": 1e4}}), store=str(store))
    code, out, _ = cli(capsys, "runs", "show", result.run_id, "--json", "--store", str(store))
    assert code == 0 and "NaN" not in out
    json.loads(out)
