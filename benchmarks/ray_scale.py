"""Scale out on Ray: what a run costs as a Ray task, and how fast the driver records runs.

In one process, on this machine:

1. 16 short runs (blobs, seeds run one by one) as a ``hone compare`` with ``--jobs 1``,
   ``--jobs 2`` and ``--backend ray`` on a 2-CPU local Ray instance. Per-run overhead is the
   wall time each run held a slot beyond its own training time (recorded ``wall_seconds``):
   ``wall * slots / runs - mean(training seconds)``.
2. The driver's store write rate: runs unpacked (``unpack_run``) and indexed per second.
3. Sharing the dataset: MNIST decoded from its IDX files against fetched from the object store.

From 1 and 2 the README projects throughput with N nodes:
``min(N * slots_per_node / (train_s + overhead_s), store_rate)``.

    .venv/bin/python -m benchmarks.ray_scale           # ~2 minutes
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import DATASETS, print_table, write_result
from hone.cluster import Backend
from hone.config import load_config
from hone.experiments.compare import plan_experiment, run_pending
from hone.experiments.variants import Variant
from hone.store import RunStore
from hone.store.bundle import pack_run, unpack_run

SHORT = {
    "name": "short",
    "data": {"dataset": "blobs", "params": {"n_samples": 1000}, "split": "8:2"},
    "model": {"hidden": [25], "activation": "relu"},
    "train": {"epochs": 20, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.001}},
}


def _compare(root: Path, runs: int, jobs: int | None, backend: Backend | None) -> dict[str, Any]:
    base = load_config(SHORT)
    with RunStore(root) as rs:
        exp_id = plan_experiment(rs, "compare", base, [Variant("baseline", {})],
                                 list(range(runs)), "val_accuracy")  # fmt: skip
        started = time.perf_counter()
        run_pending(rs, exp_id, jobs, stack="off", backend=backend)
        wall = time.perf_counter() - started
        train = [r.wall_seconds or 0.0 for r in rs.list_runs()]
    return {"wall_s": wall, "train_s": statistics.mean(train), "runs": len(train)}


def _row(name: str, slots: int, m: dict[str, Any], runs: int) -> dict[str, Any]:
    overhead = m["wall_s"] * slots / runs - m["train_s"]
    return {"mode": name, "slots": slots, **m, "runs_per_s": runs / m["wall_s"],
            "overhead_ms": overhead * 1000}  # fmt: skip


def _store_rate(tmp: Path, n: int) -> float:
    """Runs per second the driver unpacks and indexes (the bundles of one short run)."""
    with RunStore(tmp / "src") as rs:
        run_id = rs.list_runs()[0].id
        bundle = pack_run(rs, run_id)
    from dataclasses import replace

    bundles = [replace(bundle, run_id=f"{run_id[:-6]}{i:06d}") for i in range(n)]
    with RunStore(tmp / "dst") as rs:
        started = time.perf_counter()
        for b in bundles:
            unpack_run(rs, b, str(rs.root))
        return n / (time.perf_counter() - started)


def _data_sharing(ray: Any) -> dict[str, float]:
    from hone.config.data import DataConfig
    from hone.data import load as data_load

    cfg = DataConfig.model_validate({"dataset": "mnist", "path": str(DATASETS / "mnist")})
    data_load._RAW_CACHE.clear()
    started = time.perf_counter()
    raw, report = data_load.load_raw(cfg)
    decode = time.perf_counter() - started
    ref = ray.put((cfg.model_dump(mode="json"), raw, report))

    @ray.remote
    def fetch(shared: Any) -> float:
        return float(shared[1].x.shape[0])

    ray.get(fetch.remote(ref))  # a warm worker
    started = time.perf_counter()
    ray.get([fetch.remote(ref) for _ in range(4)])
    fetched = (time.perf_counter() - started) / 4
    return {"decode_idx_s": decode, "object_store_fetch_s": fetched, "mb": raw.x.nbytes / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16)
    args = parser.parse_args()
    import ray

    runs = args.runs
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    startup = time.perf_counter() - started
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        _compare(tmp / "warm", 2, None, Backend("ray"))  # workers started, imports done
        rows.append(_row("local --jobs 1", 1, _compare(tmp / "j1", runs, 1, None), runs))
        rows.append(_row("local --jobs 2", 2, _compare(tmp / "j2", runs, 2, None), runs))
        rows.append(_row("ray, 2 CPUs", 2, _compare(tmp / "src", runs, None, Backend("ray")), runs))
        rate = _store_rate(tmp, 200)
        sharing = _data_sharing(ray) if (DATASETS / "mnist").is_dir() else {}
    ray.shutdown()
    base = rows[0]["runs_per_s"]
    print_table(
        f"{runs} short runs (blobs 2-25-4, 20 epochs)",
        ["mode", "wall s", "train s/run", "overhead ms/run", "runs/s", "vs --jobs 1"],
        [[r["mode"], f"{r['wall_s']:.2f}", f"{r['train_s']:.3f}", f"{r['overhead_ms']:.0f}",
          f"{r['runs_per_s']:.2f}", f"{r['runs_per_s'] / base:.2f}x"] for r in rows],
    )  # fmt: skip
    print(f"ray.init (a new local instance): {startup:.1f} s")
    print(f"driver store write rate: {rate:.0f} runs/s (unpack + index)")
    if sharing:
        print(f"MNIST ({sharing['mb']:.0f} MB): decoded from IDX {sharing['decode_idx_s']:.2f} s, "
              f"fetched from the object store {sharing['object_store_fetch_s']:.3f} s")  # fmt: skip
    payload = {"rows": rows, "ray_init_s": startup, "store_runs_per_s": rate}
    path = write_result("ray_scale", {**payload, "data_sharing": sharing})
    print(f"written: {path}")


if __name__ == "__main__":
    main()
