# ruff: noqa: E501  (case tables read best one per line)
"""How hone meets bad input: mutated configs, bad data files and bad command-line arguments.

Each case ends as *clean* (a HoneError: one message, exit 2), *accepted* (it validated and ran),
a *traceback* (any other exception) or a *hang* (over the time limit). The goal: no tracebacks,
no hangs, and nonsense accepted only where the README documents it.

    python -m benchmarks.fuzz_study [--configs 3000] [--train-share 0.1]

Writes benchmarks/results/fuzz_study.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

import hone
from benchmarks.common import print_table, write_result
from hone.config import load_config
from hone.errors import HoneError

HOSTILE = ["", " ", "a[/]b", "\x1b[31mx", ":x:", "nul\x00", "x" * 3000, "../../etc", "*a", "{a: 1}"]
NUMBERS = [True, False, None, 0, -1, 1e308, -1e308, float("nan"), float("inf"), 2**70, 0.5, 3, []]
BASE: dict[str, Any] = {
    "name": "fuzz",
    "data": {"dataset": "blobs", "params": {"n_samples": 80}, "split": "6:2:2"},
    "model": {"hidden": [8]},
    "train": {"epochs": 1, "batch_size": 16},
    "telemetry": {"per_epoch": 1},
}
KEYS = [
    "name", "seed", "data.dataset", "data.split", "data.params.n_samples", "data.path",
    "data.target", "data.preprocess.scale", "data.preprocess.resize", "model.kind",
    "model.hidden", "model.conv", "model.activation", "model.dropout", "model.init",
    "model.pieces", "model.norm", "model.block_order", "train.loss", "train.epochs",
    "train.batch_size", "train.optimizer", "train.optimizer.lr", "train.optimizer.momentum",
    "train.schedule", "train.schedule.step_size", "train.l2", "train.early_stopping",
    "train.grad_clip", "train.augment", "train.ensemble", "train.device", "train.threads",
    "train.class_weight", "telemetry",
]  # fmt: skip


def mutate(rng: random.Random) -> dict[str, Any]:
    overrides = {}
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(KEYS)
        overrides[key] = rng.choice(
            [rng.choice(HOSTILE), rng.choice(NUMBERS), [rng.choice(NUMBERS)],
             {"name": rng.choice(HOSTILE)}, [[[[1]]]] * rng.randint(1, 3)]
        )  # fmt: skip
    return overrides


def judge(fn: Any, limit: float) -> tuple[str, str]:
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            fn()
        outcome, detail = "accepted", ""
    except HoneError:
        outcome, detail = "clean", ""
    except SystemExit as exc:
        outcome, detail = ("clean" if exc.code in (0, 1, 2, None) else "traceback"), ""
    except Exception:
        outcome, detail = "traceback", traceback.format_exc(limit=2)[-300:]
    if time.monotonic() - started > limit:
        outcome = "hang"
    return outcome, detail


def configs(n: int, train_share: float, store: str, rng: random.Random) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _ in range(n):
        overrides = mutate(rng)

        def case(overrides: dict[str, Any] = overrides) -> None:
            cfg = load_config(BASE, overrides)
            if rng.random() < train_share:
                hone.run(cfg, store=store)

        outcome, detail = judge(case, 30)
        counts[outcome] += 1
        if detail:
            print("TRACEBACK", overrides, detail)
    return counts


def cli_args(store: str) -> Counter[str]:
    from hone.cli import main

    bad = [
        ["run", "--seed", str(2**64)], ["run", "--set", "x"], ["run", "--set", "=1"],
        ["run", "--set", "train.epochs=[[[["], ["runs", "show", ""], ["runs", "delete", "", "--yes"],
        ["runs", "delete", "a", "--yes"], ["runs", "list", "--limit", "0"],
        ["runs", "list", "--status", "bogus"], ["compare", "--vary", ""],
        ["compare", "--vary", "model.hidden=[8]", "--seeds", "0"], ["compare", "--resume", ""],
        ["compare", "--vary", "x=1"], ["compare", "--vary", "model.hidden=[8]", "--metric", "x"],
        ["tune", "--trials", "0"], ["tune", "--space", "/nonexistent"], ["lr-find", "--steps", "0"],
        ["lr-find", "--start", "1", "--end", "0.1"], ["improve", "--budget", "0"],
        ["improve", "--budget", "soon"], ["improve", "--resume", "nope"], ["datacurve", "--seeds", "0"],
        ["datacurve", "--fractions", "0,2"], ["datacurve", "--fractions", "a"],
        ["report", "nope"], ["report", ""], ["eval", "nope", "--split", "x"],
        ["predict", "nope"], ["diagnose", "nope"], ["model", "/nonexistent.yaml"],
        ["experiments", "list", "--store", "/proc/version"], ["runs", "repair", "--store", "/nonexistent/x"],
    ]  # fmt: skip
    counts: Counter[str] = Counter()
    for args in bad:
        extra = [] if "--store" in args else ["--store", store]
        outcome, detail = judge(lambda args=args, extra=extra: main([*args, *extra]), 60)
        counts["clean" if outcome == "accepted" else outcome] += 1
        if detail:
            print("TRACEBACK", args, detail)
    return counts


def data_files(folder: Path, store: str) -> Counter[str]:
    cases: list[dict[str, Any]] = []
    rng = np.random.default_rng(0)
    for i, text in enumerate([
        "", "a\n", "label\n1\n", "f,label\n1,a\n", "f,label\n1,a\n2,b\n3,a\n", "f,f,label\n1,2,a\n",
        "f,label\nx,\n", "f,label\n1,a\x00\n", "f;label\n1;a\n", "\ufefff,label\n1,a\n2,b\n",
        "f,label\n" + "1,a\n" * 3 + "inf,b\n" * 3, "f,g,label\n" + "NA,1,a\n" * 10,
    ]):  # fmt: skip
        p = folder / f"c{i}.csv"
        p.write_text(text)
        cases += [{"dataset": "csv", "path": str(p), "target": t, "missing": m}
                  for t in (None, "label") for m in ("error", "mean", "drop")]  # fmt: skip
    arrays = [
        {"x": np.ones(5), "y": np.zeros(5)}, {"x": np.array(["a"] * 4), "y": np.zeros(4)},
        {"x": np.full((10, 2), np.nan), "y": np.arange(10) % 2}, {"x": np.ones((0, 2)), "y": np.ones(0)},
        {"x": np.ones((4, 2))}, {"x": np.ones((4, 2)), "y": np.ones(3)},
        {"x": rng.normal(size=(10, 2)), "y": np.full(10, np.inf)},
        {"x": np.ones((10, 0)), "y": np.arange(10) % 2}, {"x": np.ones((10, 2), complex), "y": np.arange(10) % 2},
    ]  # fmt: skip
    for i, arr in enumerate(arrays):
        p = folder / f"a{i}.npz"
        np.savez(p, **arr)
        cases += [{"dataset": "npz", "path": str(p)}, {"dataset": "npz", "path": str(p),
                                                        "task": "regression"}]  # fmt: skip
    p = folder / "not.npz"
    p.write_bytes(b"PK\x03\x04garbage")
    cases.append({"dataset": "npz", "path": str(p)})
    counts: Counter[str] = Counter()
    for data in cases:
        outcome, detail = judge(lambda d=data: hone.run({**BASE, "data": d}, store=store), 30)
        counts[outcome] += 1
        if detail:
            print("TRACEBACK", data, detail)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", type=int, default=3000)
    parser.add_argument("--train-share", type=float, default=0.1)
    args = parser.parse_args()
    started = time.perf_counter()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "store")
        results = {
            "configs (Python API)": configs(args.configs, args.train_share, store, rng),
            "bad data files": data_files(Path(tmp), store),
            "bad CLI arguments": cli_args(store),
        }
    rows = [[k, sum(v.values()), v["clean"], v["accepted"], v["traceback"], v["hang"]]
            for k, v in results.items()]  # fmt: skip
    print_table("fuzz study", ["family", "tried", "clean", "accepted", "traceback", "hang"], rows)
    summary = {k: dict(v) for k, v in results.items()}
    summary["seconds"] = time.perf_counter() - started  # type: ignore[assignment]
    print("wrote", write_result("fuzz_study", summary))


if __name__ == "__main__":
    main()
