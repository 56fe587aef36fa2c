"""Seeds for free: K seeds trained as one stacked model against K runs one after another.

Each case trains the same K configs (differing in the seed alone) both ways in one process,
on this machine's threads, and reports wall seconds and the ratio; then hone's own paired
comparison of the per-seed validation accuracy, stacked against alone (the ratio is only
worth having if the members learn what runs alone learn). The last case times
``hone compare examples/moons.yaml --vary ... --seeds 10`` with ``--stack off`` and ``auto``.

    .venv/bin/python -m benchmarks.stacked            # the cases of issue 16 (~10 minutes)
    .venv/bin/python -m benchmarks.stacked --quick    # shorter runs, same shape
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import hone
from benchmarks.common import DATASETS, ROOT, load, print_table, write_result
from hone.config import load_config
from hone.experiments.stats import compare_paired
from hone.runs.stacking import run_stacked
from hone.store import RunStore

BLOBS = {
    "name": "blobs",
    "data": {
        "dataset": "blobs",
        "params": {
            "n_samples": 1000,
            "centers": 4,
            "n_features": 2,
            "cluster_std": 2,
            "random_state": 2,
        },
        "split": "8:2",
    },
    "model": {"hidden": [25], "activation": "relu"},
    "train": {
        "loss": "cross_entropy",
        "optimizer": {"name": "adam", "lr": 0.001},
        "batch_size": 32,
        "epochs": 1000,
    },
}

MNIST = {
    "name": "mnist",
    "data": {"dataset": "mnist", "path": str(DATASETS / "mnist"), "split": {"val": 0.1}},
    "model": {"hidden": [200], "activation": "leaky_relu"},
    "train": {
        "loss": "cross_entropy",
        "optimizer": {"name": "adam", "lr": 0.001},
        "batch_size": 128,
        "epochs": 3,
    },
}


def _moons() -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load((ROOT / "examples" / "moons.yaml").read_text()))


def _with(cfg: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    from hone.config import apply_overrides

    return dict(apply_overrides(cfg, overrides))


def case(name: str, cfg: dict[str, Any], seeds: int, store: Path) -> dict[str, Any]:
    configs = [_with(cfg, seed=s) for s in range(seeds)]
    hone.run(_with(cfg, **{"train.epochs": 1}), store=store)  # warm: imports, data cache
    began = load()
    t = time.perf_counter()
    stacked = run_stacked([load_config(c) for c in configs], store, force=True)
    stacked_s = time.perf_counter() - t
    t = time.perf_counter()
    alone = [hone.run(c, store=store) for c in configs]
    alone_s = time.perf_counter() - t
    with RunStore(store) as rs:
        got = [rs.get_run(r.run_id, with_history=False).metrics for r in stacked]
    metric = "val_accuracy" if "val_accuracy" in alone[0].metrics else "test_accuracy"
    a = [float(m[metric]) for m in got]
    b = [float(r.metrics[metric]) for r in alone]
    paired = compare_paired(a, b, metric)
    return {
        "case": name,
        "seeds": seeds,
        "epochs": cfg["train"]["epochs"],
        "stacked_s": round(stacked_s, 2),
        "alone_s": round(alone_s, 2),
        "ratio": round(alone_s / stacked_s, 2),
        "metric": metric,
        "stacked": a,
        "alone": b,
        "paired": paired.to_json(),
        "load_before": round(began, 2),
        "load_after": round(load(), 2),
    }


def compare_wall(seeds: int, store: Path, epochs: int) -> dict[str, Any]:
    """``hone compare examples/moons.yaml --vary model.dropout=0,0.2 --seeds N`` both ways."""
    out: dict[str, Any] = {"case": "hone compare moons", "seeds": seeds}
    for mode in ("off", "auto"):
        moons = str(ROOT / "examples" / "moons.yaml")
        exe = str(Path(sys.executable).parent / "hone")
        cmd = [exe, "compare", moons, "--vary", "model.dropout=0,0.2",
               "--seeds", str(seeds), "--stack", mode, "--set", f"train.epochs={epochs}",
               "--store", str(store / mode), "--quiet"]  # fmt: skip
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        out[f"{mode}_s"] = round(time.perf_counter() - t, 2)
    out["ratio"] = round(out["off_s"] / out["auto_s"], 2)
    return out


def datacurve_wall(seeds: int, epochs: int) -> dict[str, Any]:
    """``hone datacurve examples/moons.yaml`` (4 fractions) with ``stack`` off and auto, in
    this process; the points must agree."""
    from hone.experiments.datacurve import data_curve

    cfg = load_config(_with(_moons(), **{"train.epochs": epochs}))
    out: dict[str, Any] = {"case": "hone datacurve moons", "seeds": seeds}
    curves = {}
    for mode in ("off", "auto"):
        t = time.perf_counter()
        curves[mode] = data_curve(cfg, [0.1, 0.25, 0.5, 1.0], seeds=seeds, stack=mode)
        out[f"{mode}_s"] = round(time.perf_counter() - t, 2)
    out["ratio"] = round(out["off_s"] / out["auto_s"], 2)
    out["max_val_error_gap"] = max(
        abs(a - b)
        for p, q in zip(curves["off"].points, curves["auto"].points, strict=True)
        for a, b in zip(p.val_error, q.val_error, strict=True)
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke test)")
    args = parser.parse_args()
    store = Path(tempfile.mkdtemp(prefix="hone-stacked-"))
    q = args.quick
    results = []
    try:
        blobs = _with(BLOBS, **{"train.epochs": 100 if q else 1000})
        results.append(case("blobs baseline", blobs, 10, store))
        moons = _with(_moons(), **({"train.epochs": 10} if q else {}))
        results.append(case("moons example", moons, 5, store))
        if (DATASETS / "mnist" / "train-images-idx3-ubyte.gz").is_file():
            mnist = _with(MNIST, **({"train.epochs": 1} if q else {}))
            results.append(case("MNIST 784-200-10", mnist, 5, store))
        wall = compare_wall(10, store, 10 if q else 50)
        curve = datacurve_wall(3, 10 if q else 50)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    rows = [
        [r["case"], r["seeds"], r["epochs"], r["alone_s"], r["stacked_s"], r["ratio"],
         r["paired"]["verdict"], round(r["paired"]["p_value"], 3)]
        for r in results
    ]  # fmt: skip
    print_table("stacked seeds vs runs alone (wall seconds, one process)",
                ["case", "seeds", "epochs", "alone s", "stacked s", "ratio", "paired verdict",
                 "p"], rows)  # fmt: skip
    print(
        f"hone compare moons, 2 variants x {wall['seeds']} seeds: --stack off "
        f"{wall['off_s']} s, auto {wall['auto_s']} s ({wall['ratio']}x)"
    )
    print(
        f"hone datacurve moons, 4 fractions x {curve['seeds']} seeds: --stack off "
        f"{curve['off_s']} s, auto {curve['auto_s']} s ({curve['ratio']}x; largest val error "
        f"gap {curve['max_val_error_gap']:.2g})"
    )
    payload = {"cases": results, "compare": wall, "datacurve": curve}
    path = write_result("stacked" + ("-quick" if q else ""), payload)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
