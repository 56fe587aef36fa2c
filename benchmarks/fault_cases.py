# ruff: noqa: E501  (case tables read best one per line)
"""The fault study's cases, one factory per family. Each case is ``(name, check)``: ``check``
gets an empty folder, makes the fault for real, and returns ``""`` when hone met it as it
should, else ``"<outcome>: what was wrong"`` (outcome: data lost, unexpected, traceback)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

import hone
from benchmarks.bad_inputs import bomb_png, config_patches, csv_files, image_folders
from benchmarks.faults import (
    flip_bytes,
    limited_run,
    read_only,
    read_only_reason,
    small_disk,
    small_disk_reason,
)
from hone.store import RunStore

Check = Callable[[Path], str]
TINY: dict[str, Any] = {"name": "tiny", "data": {"dataset": "blobs", "params": {"n_samples": 200},
                        "split": "6:2:2"}, "model": {"hidden": [16]}, "train": {"epochs": 3}}  # fmt: skip
BIG: dict[str, Any] = {"name": "big", "data": {"dataset": "digits"},
                       "model": {"hidden": [500, 500]}, "train": {"epochs": 3}, "telemetry": False}  # fmt: skip


def cli(*args: str) -> tuple[int, str, str]:
    """``hone ARGS`` in this process: (exit code, stdout, stderr); any other exception is a
    traceback the caller sees."""
    from hone.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def spawn(args: list[str], fsize: int = 0, timeout: float = 300) -> tuple[int, str]:
    if fsize:
        done = limited_run(args, fsize, timeout)
    else:
        done = subprocess.run([sys.executable, "-m", "hone.cli", *args], capture_output=True,
                              text=True, timeout=timeout, check=False)  # fmt: skip
    return done.returncode, done.stderr


def snapshot(store: Path) -> dict[str, Any]:
    with RunStore(store) as rs:
        return {r.id: (r.status, r.metrics, rs.get_run(r.id).history) for r in rs.list_runs()}


def lost(before: dict[str, Any], store: Path) -> str:
    after = snapshot(store)
    gone = [k for k, v in before.items() if after.get(k) != v]
    return f"data lost: {', '.join(gone)} missing or changed" if gone else ""


def reference(store: Path) -> dict[str, Any]:
    hone.run(TINY, store=str(store))
    return snapshot(store)


def _expect(code: int, err: str, want: int, needles: tuple[str, ...]) -> str:
    if "Traceback" in err:
        return f"traceback: {err[-300:]}"
    if code != want or not all(n in err for n in needles):
        return f"unexpected: exit {code} (want {want}): {err[-300:]}"
    return ""


# -- full disk ---------------------------------------------------------------------------------


def _full_disk(phase: str, how: str) -> Check:
    def check(work: Path) -> str:
        ctx = small_disk(work / "disk", "700k") if how == "tmpfs" else contextlib.nullcontext()
        with ctx:
            store = (work / "disk" if how == "tmpfs" else work) / "store"
            before = reference(store)
            config = (
                {**BIG, "train": {"epochs": 3, "checkpoint_every": 1}}
                if phase == "training"
                else BIG
            )
            if phase == "start" and how == "tmpfs":  # the disk is full before the run begins
                free = shutil.disk_usage(store).free
                (store.parent / "filler").write_bytes(b"\0" * max(0, free - 2048))
            path = work / "big.yaml"
            path.write_text(yaml.safe_dump(config))
            limit = 0 if how == "tmpfs" else (60_000 if phase == "start" else 700_000)
            code, err = spawn(["run", str(path), "-q", "--store", str(store)], fsize=limit)
            if problem := _expect(code, err, 1, ("needs about",)) or lost(before, store):
                return problem
            with RunStore(store) as rs:
                new = [r for r in rs.list_runs() if r.id not in before]
                if any(r.status != "failed" for r in new) or (phase != "start" and not new):
                    return f"unexpected: the run was recorded as {[r.status for r in new]}"
            leftovers = [p for p in store.rglob("*") if p.name.endswith(".tmp")]
            return f"unexpected: partial files {leftovers}" if leftovers else ""

    return check


def full_disk_cases(quick: bool) -> list[tuple[str, Check]]:
    hows = ["fsize"] + ([] if small_disk_reason() else ["tmpfs"])
    phases = ["saving"] if quick else ["start", "training", "saving"]
    return [(f"{phase} ({how})", _full_disk(phase, how)) for how in hows for phase in phases]


# -- read-only store ---------------------------------------------------------------------------


def _digest(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _read_only(args: list[str], want: int, needle: str) -> Check:
    def check(work: Path) -> str:
        store = work / "store"
        run_id = hone.run(TINY, store=str(store)).run_id
        before = _digest(store)
        with read_only(store) as view:
            filled = [a.replace("RUN", run_id).replace("WORK", str(work)) for a in args]
            code, _, err = cli(*filled, "--store", str(view))
        if problem := _expect(code, err, want, (needle,) if needle else ()):
            return problem
        return "" if _digest(store) == before else "data lost: the read-only store changed"

    return check


READ_ONLY = [
    (["runs", "list"], 0, ""), (["runs", "show", "RUN"], 0, ""), (["diagnose", "RUN"], 0, ""),
    (["eval", "RUN"], 0, ""), (["predict", "RUN", "--index", "0"], 0, ""),
    (["report", "RUN", "--out", "WORK/page.html"], 0, ""), (["store", "check"], 0, ""),
    (["export", "RUN", "WORK/m.pt"], 0, ""), (["report", "RUN"], 2, "--out"),
    (["report", "--all"], 2, "read-only"), (["run"], 2, "--store"),
    (["runs", "delete", "RUN", "--yes"], 2, "read-only"), (["store", "repair"], 2, "read-only"),
]  # fmt: skip


def read_only_cases(quick: bool) -> list[tuple[str, Check]]:
    if read_only_reason():
        return []
    chosen = [READ_ONLY[1], READ_ONLY[8]] if quick else READ_ONLY
    return [(" ".join(a), _read_only(a, want, n)) for a, want, n in chosen]


# -- damaged index -----------------------------------------------------------------------------

_PRISTINE: dict[str, Path] = {}


def _pristine(work: Path) -> Path:
    """A store of finished runs and an experiment, made once per study."""
    if "store" not in _PRISTINE or not _PRISTINE["store"].is_dir():
        store = Path(os.environ.get("TMPDIR", "/tmp")) / f"hone-pristine-{os.getpid()}"
        shutil.rmtree(store, ignore_errors=True)
        for i in range(4):
            hone.run({**TINY, "seed": i, "train": {"epochs": 5}}, store=str(store))
        hone.compare(TINY, vary={"train.optimizer.lr": [0.01, 0.1]}, seeds=1, store=str(store))
        _PRISTINE["store"] = store
    return _PRISTINE["store"]


def _damaged(how: str) -> Check:
    def check(work: Path) -> str:
        store = work / "store"
        shutil.copytree(_pristine(work), store)
        before = snapshot(store)
        db = store / "runs.db"
        if how.startswith("flip"):
            _, count, seed = how.split("-")
            flip_bytes(db, int(count), int(seed))
        elif how == "truncated":
            db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])
        elif how == "header":
            db.write_bytes(b"not an SQLite header" + db.read_bytes()[20:])
        for args in (["runs", "list"], ["runs", "show", sorted(before)[0]], ["store", "check"]):
            code, _, err = cli(*args, "--store", str(store))
            if "Traceback" in err or code not in (0, 1, 2):
                return f"unexpected: {args} exit {code}: {err[-200:]}"
            if code == 2 and "hone store repair" not in err:
                return f"unexpected: {args} does not say how to repair: {err[-200:]}"
        code, _, err = cli("store", "repair", "--store", str(store))
        if code != 0:
            return f"unexpected: repair exit {code}: {err[-300:]}"
        return lost(before, store) or ("" if cli("store", "check", "--store", str(store))[0] == 0
                                       else "unexpected: store check fails after the repair")  # fmt: skip

    return check


def damaged_index_cases(quick: bool, seeds: int) -> list[tuple[str, Check]]:
    kinds = ["flip-3-0", "header"] if quick else [
        *(f"flip-{n}-{s}" for s in range(seeds) for n in (3, 40)), "header", "truncated"]  # fmt: skip
    return [(kind, _damaged(kind)) for kind in kinds]


# -- Ctrl-C ------------------------------------------------------------------------------------


def _in_process(phase: str) -> Check:
    """A real SIGINT the run's own process sends itself at ``phase`` (benchmarks.ctrl_c)."""

    def check(work: Path) -> str:
        done = subprocess.run([sys.executable, "-m", "benchmarks.ctrl_c", str(work), phase],
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        if done.returncode or not done.stdout.strip():
            return f"traceback: {done.stderr[-400:]}"
        p = json.loads(done.stdout.splitlines()[-1])
        if not p["reference_intact"]:
            return "data lost: the run recorded before was changed"
        if phase == "start":
            return (
                ""
                if p["raised"] == "KeyboardInterrupt" and "status" not in p
                else f"unexpected: {p}"
            )
        good = p.get("status") == "interrupted" and p.get("weights") and p.get("same_as_reference")
        return "" if good else f"unexpected: {p}"

    return check


def _wait(proc: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise subprocess.TimeoutExpired("hone run", timeout)
        time.sleep(0.02)


def _epochs(store: Path) -> int:
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(store / "runs.db", timeout=1)) as db:
            row = db.execute("SELECT epochs_run FROM runs WHERE name = 'long'").fetchone()
    except sqlite3.Error:
        return -1
    return int(row[0]) if row else -1


def _from_outside(phase: str, sig: signal.Signals = signal.SIGINT) -> Check:
    """SIGINT (or SIGTERM) sent to a ``hone run`` process at ``phase``, as a terminal does."""

    def check(work: Path) -> str:
        store = work / "store"
        before = reference(store)
        config = {"name": "long", "data": {"dataset": "blobs", "params": {"n_samples": 600_000},
                  "split": "1:1:98"}, "model": {"hidden": [64]}, "telemetry": False,
                  "train": {"epochs": 3, "checkpoint_every": 1}}  # fmt: skip
        path = work / "long.yaml"
        path.write_text(yaml.safe_dump(config))
        proc = subprocess.Popen([sys.executable, "-m", "hone.cli", "run", str(path), "-q",
                                 "--store", str(store)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        maps = Path(f"/proc/{proc.pid}/maps")
        ready = {"start": lambda: "libtorch" in maps.read_text(errors="replace"),
                 "training": lambda: _epochs(store) >= 1,
                 "evaluation": lambda: _epochs(store) >= 3}[phase]  # fmt: skip
        _wait(proc, ready)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        want = 143 if sig == signal.SIGTERM else 130
        if problem := _expect(proc.returncode, err, want, ()) or lost(before, store):
            return problem
        with RunStore(store) as rs:
            new = [r for r in rs.list_runs() if r.id not in before]
        if phase == "start":
            return "" if all(r.status == "interrupted" for r in new) else f"unexpected: {new}"
        if len(new) != 1 or new[0].status != "interrupted":
            return f"unexpected: recorded as {[r.status for r in new]}"
        code, err = spawn(["run", "--resume", new[0].id, "-q", "--store", str(store)])
        return _expect(code, err, 0, ())

    return check


def ctrl_c_cases(quick: bool) -> list[tuple[str, Check]]:
    if quick:
        return [("evaluation (in the process)", _in_process("evaluation"))]
    inside = [
        (f"{p} (in the process)", _in_process(p))
        for p in ("start", "training", "evaluation", "saving")
    ]
    outside = [
        (f"{p} (SIGINT from outside)", _from_outside(p))
        for p in ("start", "training", "evaluation")
    ]
    return [
        *inside,
        *outside,
        ("evaluation (SIGTERM)", _from_outside("evaluation", signal.SIGTERM)),
    ]


# -- inputs ------------------------------------------------------------------------------------


def _input(name: str, make: Callable[[Path, str], list[str]], want: int, needle: str) -> Check:
    def check(work: Path) -> str:
        store = work / "store"
        before = reference(store)
        run_id = next(iter(before))
        code, out, err = cli(*make(work, run_id), "--store", str(store))
        return _expect(code, err + (out if want == 0 else ""), want, (needle,)) or lost(
            before, store
        )

    return check


def _config(patch: dict[str, Any]) -> Callable[[Path, str], list[str]]:
    def make(work: Path, run_id: str) -> list[str]:
        path = work / "c.yaml"
        raw = hone.config.apply_overrides(TINY, patch)
        path.write_text(yaml.safe_dump(raw))
        return ["run", str(path), "-q"]

    return make


def _csv(name: str) -> Callable[[Path, str], list[str]]:
    def make(work: Path, run_id: str) -> list[str]:
        path = csv_files(work)[name][0]
        return ["run", "-q", "--set", "data.dataset=csv", f"--set=data.path={path}",
                "--set", "data.target=label", "--set", "data.params={}", "--set", "train.epochs=1"]  # fmt: skip

    return make


def _images(name: str, bad: str) -> Callable[[Path, str], list[str]]:
    def make(work: Path, run_id: str) -> list[str]:
        root = image_folders(work)[name]
        return ["run", "-q", "--set", "data.dataset=image_folder", f"--set=data.path={root}",
                "--set", "data.params={}", "--set", "data.preprocess.resize=[8, 8]",
                "--set", f"data.on_bad_image={bad}", "--set", "train.epochs=1"]  # fmt: skip

    return make


def _nan_init(work: Path, run_id: str) -> list[str]:
    store = work / "store"
    nan = hone.run(hone.config.apply_overrides(TINY, {"model.init": "constant",
                                                      "model.init_value": 3e38}), store=str(store))  # fmt: skip
    return ["run", "-q", "--set", f"model.init_from={nan.run_id}"]


def _damaged_telemetry(work: Path, run_id: str) -> list[str]:
    (work / "store" / "runs" / run_id / "telemetry.json").write_text('{"samples": 5}')
    return ["diagnose", run_id]


def input_cases(quick: bool) -> list[tuple[str, Check]]:
    patches = config_patches(None)
    found: list[tuple[str, Callable[[Path, str], list[str]], int, str]] = [
        ("predict a decompression bomb", lambda w, r: ["predict", r, "--input", str(bomb_png(w / "big.png", 20_000, 20_000))], 2, "bomb"),
        ("image folder with a bomb", _images("bomb", "error"), 2, "bomb"),
        ("image folder with a damaged PNG, skip", _images("damaged", "skip"), 0, ""),
        ("CSV from Excel (BOM)", _csv("excel-bom"), 0, ""),
        ("CSV in Windows-1252", _csv("windows-1252"), 2, "Windows-1252"),
        ("CSV in UTF-16", _csv("utf-16"), 2, "UTF-16"),
        ("CSV with NUL bytes", _csv("nul-bytes"), 2, "NUL byte"),
        ("class weights all zero", _config(patches[0]), 2, "class_weight"),
        ("init_value 1e308", _config(patches[1]), 2, "float32"),
        ("negative_slope 1e308", _config(patches[3]), 2, "float32"),
        ("conv kernel 50 on 8x8 digits", _config({**patches[6], "data.params": {}}), 2, "largest kernel"),
        ("conv stride 9 on 8x8 digits", _config({**patches[7], "data.params": {}}), 2, "largest stride"),
        ("init_from a run with NaN weights", _nan_init, 2, "NaN or inf"),
        ("damaged telemetry.json", _damaged_telemetry, 0, "telemetry.json is damaged"),
    ]  # fmt: skip
    chosen = [found[0], found[3], found[10]] if quick else found
    cases = [(name, _input(name, make, want, needle)) for name, make, want, needle in chosen]
    return cases + ([] if quick else [("hone.run(**{'store': ...}) and overrides=", _api)])


def _api(work: Path) -> str:
    from hone.errors import ConfigError

    a = hone.run(TINY, **{"store": str(work / "a")})
    b = hone.run(TINY, overrides={"store": str(work / "b"), "model": {"hidden": [4]}})
    if a.store != work / "a" or b.store != work / "b" or b.config.model.hidden != [4]:
        return "unexpected: a store or model override was not applied"
    try:
        hone.run(TINY, store=str(work / "a"), overrides={"store": str(work / "c")})
    except ConfigError:
        return ""
    return "unexpected: a store given twice was accepted"
