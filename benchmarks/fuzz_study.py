# ruff: noqa: E501  (case tables read best one per line)
"""How hone meets bad input: mutated configs (through the Python API and through the command
line), bad calls of ``hone.run``, bad data files and bad command-line arguments.

Each case ends as *clean* (a HoneError: one message, exit 2 or 1), *accepted* (it validated
and ran), a *traceback* (any other exception) or a *hang* (over the time limit). The goal: no
tracebacks, no hangs, and nonsense accepted only where the README documents it.

    python -m benchmarks.fuzz_study [--configs 10000] [--cli-configs 300] [--train-share 0.1]

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
import yaml

import hone
from benchmarks.bad_inputs import config_patches, csv_files, image_folders
from benchmarks.common import print_table, write_result
from hone.config import apply_overrides, load_config
from hone.errors import HoneError

HOSTILE = ["", " ", "a[/]b", "\x1b[31mx", ":x:", "nul\x00", "x" * 3000, "../../etc", "*a", "{a: 1}"]
NUMBERS = [
    True,
    False,
    None,
    0,
    -1,
    1e308,
    -1e308,
    3.5e38,
    float("nan"),
    float("inf"),
    2**70,
    0.5,
    3,
    [],
]
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
    "model.init_value", "model.negative_slope", "model.alpha", "model.init_from",
    "model.pieces", "model.norm", "model.block_order", "train.loss", "train.epochs",
    "train.batch_size", "train.optimizer", "train.optimizer.lr", "train.optimizer.momentum",
    "train.schedule", "train.schedule.step_size", "train.l2", "train.early_stopping",
    "train.grad_clip", "train.grad_clip.value", "train.augment", "train.ensemble", "train.device",
    "train.threads", "train.class_weight", "train.huber_delta", "telemetry", "store",
]  # fmt: skip
STRUCTURED = [  # values shaped like the field, with odd numbers inside
    lambda r: [{"filters": r.choice([1, 4]), "kernel": r.choice([1, 3, 8, 9, 50, 1024]),
                "stride": r.choice([1, 2, 8, 9]), "padding": r.choice(["same", "valid", 0, 30]),
                "pool": r.choice(["none", "max2"])} for _ in range(r.randint(1, 4))],
    lambda r: {str(k): r.choice([0, 0.0, 1, 1e39, -1]) for k in range(r.randint(1, 4))},
    lambda r: {"value": r.choice(NUMBERS), "norm": r.choice([1e308, 1.0, 0])},
]  # fmt: skip


def mutate(rng: random.Random, patches: list[dict[str, Any]]) -> dict[str, Any]:
    if rng.random() < 0.05:
        return dict(rng.choice(patches))
    overrides: dict[str, Any] = {}
    if rng.random() < 0.1:  # a CNN on digits, so kernels and strides meet a real input size
        overrides.update({"data.dataset": "digits", "data.params": {}, "model.kind": "cnn"})
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(KEYS)
        overrides[key] = rng.choice(
            [rng.choice(HOSTILE), rng.choice(NUMBERS), [rng.choice(NUMBERS)],
             {"name": rng.choice(HOSTILE)}, [[[[1]]]] * rng.randint(1, 3),
             rng.choice(STRUCTURED)(rng)]
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
    except SystemExit as exc:  # the command line: 0 ran, 1/2/130 one message, else a bug
        outcome = "accepted" if exc.code in (0, None) else "clean"
        outcome, detail = (outcome if exc.code in (0, 1, 2, 130, None) else "traceback"), ""
    except Exception:
        outcome, detail = "traceback", traceback.format_exc(limit=3)[-400:]
    if time.monotonic() - started > limit:
        outcome = "hang"
    return outcome, detail


def _record(counts: Counter[str], what: Any, outcome: str, detail: str) -> None:
    counts[outcome] += 1
    if detail:
        print("TRACEBACK", repr(what)[:300], detail)


def configs(n: int, train_share: float, store: str, rng: random.Random,
            patches: list[dict[str, Any]], valid: list[dict[str, Any]]) -> Counter[str]:  # fmt: skip
    """Mutated configs through ``load_config`` (and ``hone.run`` for ``train_share`` of them);
    the mutations that validate are appended to ``valid``."""
    counts: Counter[str] = Counter()
    for _ in range(n):
        overrides = mutate(rng, patches)
        train = rng.random() < train_share

        def case(overrides: dict[str, Any] = overrides, train: bool = train) -> None:
            cfg = load_config(BASE, overrides)
            valid.append(overrides)
            if train:
                hone.run(cfg, store=store)

        _record(counts, overrides, *judge(case, 30))
    return counts


def cli_configs(n: int, folder: Path, store: str, rng: random.Random,
                patches: list[dict[str, Any]], valid: list[dict[str, Any]]) -> Counter[str]:  # fmt: skip
    """Configs written as YAML and given to ``hone run``, half of the mutations as ``--set``
    (whose values YAML reads, as a user types them); half of them are mutations the Python
    API validated, so the command trains them, the rest fresh mutations."""
    from hone.cli import main

    counts: Counter[str] = Counter()
    for i in range(n):
        overrides = rng.choice(valid) if valid and rng.random() < 0.5 else mutate(rng, patches)
        raw = BASE if rng.random() < 0.5 else apply_overrides(BASE, overrides)
        path = folder / f"cli-{i}.yaml"
        try:
            path.write_text(yaml.safe_dump(raw, allow_unicode=True))
        except (yaml.YAMLError, ValueError):
            path.write_text(repr(raw))  # not YAML at all: the loader must say so
        sets = (
            []
            if raw is not BASE
            else [
                f"--set={k}={yaml.safe_dump(v, default_flow_style=True).strip()}"
                for k, v in overrides.items()
                if "\x00" not in str(v)
            ]
        )
        args = ["run", str(path), "-q", "--store", store, *sets]
        _record(counts, args, *judge(lambda args=args: main(args), 60))
    return counts


def api_calls(n: int, store: str, rng: random.Random) -> Counter[str]:
    """``hone.run`` called with keywords that name config keys, parameters, or both."""
    values: dict[str, list[Any]] = {
        "store": [store, "", None, 5, "/nonexistent/x"], "overrides": [None, {}, {"store": store}, {"train.epochs": 2}, ["x"], 5, {"model": {"hidden": [4]}}],
        "model": [None, {"hidden": [4]}, "mlp", 3], "data": [None, {"dataset": "digits"}, "blobs", [1, 2]],
        "train.epochs": [1, 0, "x"], "train__epochs": [1, 2], "seed": [0, -1, None], "evaluate": [("val",), ("nope",), "val"],
        "stack": ["auto", "bogus"], "progress": [False, "yes"], "callbacks": [(), None, [1]], "repair": [0, 1, -1],
    }  # fmt: skip
    counts: Counter[str] = Counter()
    for _ in range(n):
        kwargs = {
            k: rng.choice(v) for k, v in rng.sample(sorted(values.items()), rng.randint(1, 4))
        }
        kwargs.setdefault("store", store)
        _record(counts, kwargs, *judge(lambda kw=kwargs: hone.run({**BASE}, **kw), 60))
    return counts


def cli_args(store: str, folder: Path) -> Counter[str]:
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
        ["store", "check", "--store", "/proc/version"], ["store", "repair", "--store", "/nonexistent/x"],
        ["store", "check", "--store", str(folder / "empty-store")], ["run", "--set", "model={hidden: [4]}", "--set", "train.epochs=1"],
        ["run", "--set", "data={dataset: digits}", "--set", "train.epochs=1"], ["run", "--set", "progress=1"],
        ["run", "--set", "store=", "--set", "train.epochs=1"],
    ]  # fmt: skip
    counts: Counter[str] = Counter()
    for args in bad:
        extra = [] if "--store" in args else ["--store", store]
        outcome, detail = judge(lambda args=args, extra=extra: main([*args, *extra]), 60)
        _record(counts, args, "clean" if outcome == "accepted" else outcome, detail)
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
    for p, _ in csv_files(folder).values():
        cases += [{"dataset": "csv", "path": str(p), "target": t} for t in ("label", "a")]
    for root in image_folders(folder).values():
        cases += [{"dataset": "image_folder", "path": str(root), "on_bad_image": b,
                   "preprocess": {"resize": [8, 8]}} for b in ("error", "skip")]  # fmt: skip
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
        _record(counts, data, *judge(lambda d=data: hone.run({**BASE, "data": d}, store=store), 30))
    return counts


def _nan_run(store: str) -> str | None:
    """A recorded run whose weights hold NaN (its constant init overflows float32 math)."""
    with contextlib.suppress(HoneError):
        return hone.run({**BASE, "model": {"hidden": [8], "init": "constant",
                                           "init_value": 3e38}}, store=store).run_id  # fmt: skip
    return None


def study(
    n_configs: int, n_cli: int, n_api: int, train_share: float, seed: int = 0
) -> dict[str, Counter[str]]:
    rng = random.Random(seed)
    # In a folder of its own: hostile stores ("", 5) are relative paths, created where it runs.
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        folder, store = Path(tmp), str(Path(tmp) / "store")
        patches = config_patches(_nan_run(store))
        valid: list[dict[str, Any]] = []
        results = {
            "configs (Python API)": configs(n_configs, train_share, store, rng, patches, valid),
            "configs (command line)": cli_configs(n_cli, folder, store, rng, patches, valid),
            "hone.run keywords": api_calls(n_api, store, rng),
            "bad data files": data_files(folder, store),
            "bad CLI arguments": cli_args(store, folder),
        }
        results["runs recorded (data lost = unreadable)"] = _recorded(store)
        return results


def _recorded(store: str) -> Counter[str]:
    """Every run the study recorded must still read back whole: its row, its folder."""
    from hone.store.repair import check_store

    check = check_store(store)
    lost = set(check.not_indexed) | set(check.no_folder) | set(check.damaged)
    return Counter({"clean": check.indexed - len(lost), "data lost": len(lost)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--cli-configs", type=int, default=300)
    parser.add_argument("--api-calls", type=int, default=300)
    parser.add_argument("--train-share", type=float, default=0.1)
    args = parser.parse_args()
    started = time.perf_counter()
    results = study(args.configs, args.cli_configs, args.api_calls, args.train_share)
    rows = [[k, sum(v.values()), v["clean"], v["accepted"], v["traceback"], v["hang"],
             v["data lost"]] for k, v in results.items()]  # fmt: skip
    header = ["family", "tried", "clean", "accepted", "traceback", "hang", "data lost"]
    print_table("fuzz study", header, rows)
    summary: dict[str, Any] = {k: dict(v) for k, v in results.items()}
    summary["seconds"] = time.perf_counter() - started
    print("wrote", write_result("fuzz_study", summary))


if __name__ == "__main__":
    main()
