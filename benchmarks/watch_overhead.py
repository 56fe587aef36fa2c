"""The cost of live diagnosis (``train.watch``, on by default) against watch off, on the blobs
baseline and on MNIST 784-200-10, through ``hone.run`` (telemetry on in both). Contenders
alternate in each repeat.

    python -m benchmarks.watch_overhead [--repeats 3]

Writes benchmarks/results/watch_overhead.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from typing import Any

import hone
from benchmarks.common import DATASETS, interleaved, print_table, write_result

WORKLOADS: dict[str, dict[str, Any]] = {
    "blobs baseline, 300 epochs": {"train": {"epochs": 300}},
    "MNIST 784-200-10, 12k rows, 2 epochs": {
        "data": {"dataset": "mnist", "path": str(DATASETS / "mnist"), "split": {"train": 0.2}},
        "model": {"hidden": [200], "activation": "leaky_relu"},
        "train": {"epochs": 2, "batch_size": 128},
    },
}


def bench_watch(quick: bool, repeats: int = 3) -> dict[str, Any]:
    repeats = 1 if quick else repeats
    out: dict[str, Any] = {}
    rows = []
    with tempfile.TemporaryDirectory() as store:
        for name, config in WORKLOADS.items():

            def run(watch: Any, config: dict[str, Any] = config) -> dict[str, Any]:
                result = hone.run(config, store=store, **{"train.watch": watch})
                info = result.notes.get("watch") or {}
                return {"watch_seconds": info.get("seconds", 0.0)}

            timed = interleaved({"off": lambda _: run(None), "on": lambda _: run({})}, repeats)
            off, on = timed["off"]["median_s"], timed["on"]["median_s"]
            overhead = on / off - 1
            # The watch's own clock is the sharper measure: wall medians move by more than
            # its cost when the machine is shared.
            share = timed["on"]["watch_seconds"] / on
            out[name] = {**timed, "overhead": overhead, "watch_share": share}
            rows.append([name, off, on, f"{overhead:+.1%}", f"{share:.1%}", timed["on"]["n"]])
    print_table("Live diagnosis: watch on vs off (hone.run, median wall s)",
                ["workload", "off", "on", "wall diff", "watch time", "n"], rows)  # fmt: skip
    out["max_overhead"] = max(v["overhead"] for v in out.values() if isinstance(v, dict))
    out["median_overhead"] = statistics.median(
        v["overhead"] for v in out.values() if isinstance(v, dict) and "overhead" in v
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("wrote", write_result("watch_overhead", bench_watch(False, args.repeats)))


if __name__ == "__main__":
    main()
