"""What ``--jobs`` costs before the first run: worker processes started from a fork server
(which imports torch, ``torch._dynamo``, scikit-learn and hone once) against spawned ones (each
imports them itself). Each contender runs in a fresh parent process (a fork server lives as long
as its parent), which makes two pools one after the other, as a session of ``hone compare``
then ``hone tune`` in one Python process would; every worker trains one 1-epoch blobs run.
Contenders alternate in each repeat.

    python -m benchmarks.worker_start [--jobs 2] [--repeats 3]

Writes benchmarks/results/worker_start.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks.common import print_table, write_result

METHODS = ("spawn", "forkserver")


def first_run(store: str) -> None:
    import hone

    hone.run({"train": {"epochs": 1}, "store": store}, progress=False)


def _child(method: str, jobs: int) -> list[float]:
    """In a fresh process: the wall time of two pools, each until every worker finished its
    first run."""
    import hone.experiments.tune  # noqa: F401  (what the CLI has imported when it makes a pool)
    from hone.cluster.processes import local_pool

    seconds = []
    with tempfile.TemporaryDirectory() as store:
        for _ in range(2):
            started = time.perf_counter()
            with local_pool(jobs, method=method) as pool:
                for future in [pool.submit(first_run, store) for _ in range(jobs)]:
                    future.result()
            seconds.append(time.perf_counter() - started)
    return seconds


def bench_worker_start(jobs: int = 2, repeats: int = 3) -> dict[str, Any]:
    samples: dict[str, list[list[float]]] = {m: [] for m in METHODS}
    for r in range(repeats):
        for method in METHODS if r % 2 == 0 else METHODS[::-1]:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.worker_start", "--child", method,
                 "--jobs", str(jobs)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            samples[method].append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = []
    for method, runs in samples.items():
        first, second = [s[0] for s in runs], [s[1] for s in runs]
        rows.append([method, statistics.median(first), statistics.median(second), len(runs)])
    print_table(f"{jobs} workers, each until its first blobs run is done",
                ["start", "first pool s", "second pool s", "n"], rows)  # fmt: skip
    return {"jobs": jobs, "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=METHODS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.jobs)))
        return
    print("wrote", write_result("worker_start", bench_worker_start(args.jobs, args.repeats)))


if __name__ == "__main__":
    main()
