"""A/A study and power table for ``hone compare``'s verdicts, on real runs.

A pool of real runs of one cheap config is trained on many seeds. An A/A comparison pairs n
runs with n *other* runs of the same config (seeds never shared, so the pairs are independent
and the null hypothesis holds exactly) and asks hone's paired comparison for a verdict; any
``better`` or ``worse`` is a false verdict. For power, a known shift of d standard deviations
of the pool is added to one arm's real values and the share detected is counted.

    python -m benchmarks.aa_study [--pool 300] [--comparisons 200]

Writes benchmarks/results/aa_study.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

import numpy as np

import hone
from benchmarks.common import print_table, write_result
from hone.experiments.stats import compare_paired

CONFIG = {
    "name": "aa",
    "data": {"dataset": "blobs", "params": {"n_samples": 300}, "split": "6:2:2"},
    "model": {"hidden": [16]},
    "train": {"epochs": 20, "optimizer": {"name": "adam", "lr": 0.01}},
    "telemetry": False,
}


def pool_values(n: int, metric: str) -> list[float]:
    with tempfile.TemporaryDirectory() as store:
        return [float(hone.run(CONFIG, store=store, seed=s).metrics[metric]) for s in range(n)]


def false_verdicts(values: np.ndarray, n: int, comparisons: int, rng: np.random.Generator,
                   metric: str) -> dict[str, Any]:  # fmt: skip
    verdicts = []
    for i in range(comparisons):
        pick = rng.choice(len(values), 2 * n, replace=False)
        a, b = values[pick[:n]], values[pick[n:]]
        verdicts.append(compare_paired(list(a), list(b), metric, seed=i, resamples=1000).verdict)
    wrong = sum(v in ("better", "worse") for v in verdicts)
    return {"seeds": n, "comparisons": comparisons, "false_verdicts": wrong,
            "rate": wrong / comparisons}  # fmt: skip


def power(values: np.ndarray, n: int, effect_sd: float, comparisons: int,
          rng: np.random.Generator, metric: str) -> float:  # fmt: skip
    shift = effect_sd * float(np.std(values, ddof=1))
    hits = 0
    for i in range(comparisons):
        pick = rng.choice(len(values), 2 * n, replace=False)
        a, b = values[pick[:n]] + shift, values[pick[n:]]
        hits += compare_paired(list(a), list(b), metric, seed=i, resamples=1000).verdict == "better"
    return hits / comparisons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pool", type=int, default=300)
    parser.add_argument("--comparisons", type=int, default=200)
    args = parser.parse_args()
    started = time.perf_counter()
    metric = "val_accuracy"
    values = np.asarray(pool_values(args.pool, metric))
    rng = np.random.default_rng(0)
    aa = [false_verdicts(values, n, args.comparisons, rng, metric) for n in (3, 5)]
    table = {
        f"{d} sd": {n: power(values, n, d, args.comparisons, rng, metric) for n in (3, 5, 10)}
        for d in (0.5, 1.0, 2.0)
    }
    aa_rows = [[r["seeds"], r["comparisons"], r["false_verdicts"], r["rate"]] for r in aa]
    print_table("A/A: false verdicts", ["seeds", "comparisons", "false", "rate"], aa_rows)
    header = ["effect", "3 seeds", "5 seeds", "10 seeds"]
    rows = [[k, *v.values()] for k, v in table.items()]
    print_table("power: share of true shifts detected", header, rows)
    summary = {
        "pool": args.pool,
        "pool_mean": statistics.fmean(values),
        "pool_sd": float(np.std(values, ddof=1)),
        "aa": aa,
        "power": table,
        "seconds": time.perf_counter() - started,
    }
    print("wrote", write_result("aa_study", summary))


if __name__ == "__main__":
    main()
