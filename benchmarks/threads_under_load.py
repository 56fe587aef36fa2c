"""``train.threads: auto`` on a busy machine: a competing process spins on one core while an
MNIST-sized model trains, with every core's threads (what ``auto`` chose before) and with
``auto`` (which now leaves the busy cores alone). Contenders alternate in each repeat.

    python -m benchmarks.threads_under_load [--repeats 3]   (also: benchmarks.suite --only threads)

Writes benchmarks/results/threads_under_load.json.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from typing import Any

import torch

from benchmarks.common import DATASETS, print_table, write_result
from hone.api import build_run
from hone.config import load_config

CONFIG: dict[str, Any] = {
    "data": {"dataset": "mnist", "path": str(DATASETS / "mnist"), "split": {"train": 0.2}},
    "model": {"hidden": [200], "activation": "leaky_relu"},
    "train": {"epochs": 1, "batch_size": 128},
    "telemetry": False,
}


def _spin(stop: Any) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _time(threads: int | str) -> tuple[float, int]:
    cfg = load_config(CONFIG, {"train.threads": threads})
    built = build_run(cfg)
    used = torch.get_num_threads()
    started = time.perf_counter()
    built.fit()
    return time.perf_counter() - started, used


def bench_threads(quick: bool, repeats: int = 3) -> dict[str, Any]:
    """Alternate all-cores and auto while another process keeps one core busy."""
    repeats = 1 if quick else repeats
    cores = os.cpu_count() or 1
    stop = multiprocessing.Event()
    busy = multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
    busy.start()
    time.sleep(6)  # let the 1-minute load average see the competitor
    samples: dict[str, list[float]] = {"all cores": [], "auto": []}
    used: dict[str, int] = {}
    try:
        for r in range(repeats):
            order = ["all cores", "auto"] if r % 2 == 0 else ["auto", "all cores"]
            for name in order:
                seconds, threads = _time(cores if name == "all cores" else "auto")
                samples[name].append(seconds)
                used[name] = threads
        load = os.getloadavg()[0]
    finally:
        stop.set()
        busy.join(5)
    rows = [[k, used[k], statistics.median(v), min(v), len(v)] for k, v in samples.items()]
    print_table("6. 1 epoch on 12,000 MNIST rows beside a busy process",
                ["threads", "used", "median s", "min s", "n"], rows)  # fmt: skip
    ratio = statistics.median(samples["all cores"]) / statistics.median(samples["auto"])
    print(f"all cores / auto: {ratio:.2f}x (load average {load:.2f})")
    return {"samples": samples, "threads": used, "ratio": ratio, "load_average": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("wrote", write_result("threads_under_load", bench_threads(False, args.repeats)))


if __name__ == "__main__":
    main()
