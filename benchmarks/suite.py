"""hone's benchmark suite: every figure is a ratio against plain PyTorch measured in the same run.

    python -m benchmarks.suite            # all six; about 7 minutes on a 2-core laptop CPU
    python -m benchmarks.suite --quick    # a smoke run: about one minute (it prints its time)
    python -m benchmarks.suite --only engine,flops

1. engine   hone vs a bare loop vs DataLoader(TensorDataset, shuffle=True), MNIST 784-200-10
            (LeakyReLU, LayerNorm, BCE, Adam), batch 32/128/512, telemetry off and on; at
            batch 128 also PyTorch Lightning and Keras 3 (torch backend) when installed
2. flops    executed FLOPs per second (torch.utils.flop_counter) vs the matmul peak measured
            in the same run, and where the time goes (torch.profiler)
3. ladder   the book's five MNIST steps at batch 128 (see benchmarks/book_ladder.py)
4. sweep    20 random-search 1-epoch trials per round: hone tune vs a plain Optuna study
            driving a DataLoader loop and a plain loop; hone's own per-trial overhead
5. memory   peak RSS of MNIST runs in one process; RSS after each run (growth = leaks)
6. threads  train.threads: auto vs every core while another process keeps one core busy

Method: contenders are interleaved and their order is rotated in every repeat, so drift in
machine load and warm caches favour none. Each figure has wall and process-CPU seconds, the
median and the minimum, n and the spread (slowest / fastest), and the machine's 1-minute load
average before and after. Results go to benchmarks/results/suite.json with the machine's
description.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.common import (
    DATASETS,
    interleaved,
    load,
    machine_info,
    print_table,
    write_result,
)
from benchmarks.loops import bare_loop, dataloader_loop
from benchmarks.threads_under_load import bench_threads
from hone.api import BuiltRun, build_run, final_metrics
from hone.config import Config, load_config
from hone.data import DataBundle, Split

THREADS = [1]  # set from --threads; every contender runs with this many torch threads

BOOK_MLP = {
    "name": "bench",
    "data": {"dataset": "mnist", "path": str(DATASETS / "mnist")},
    "model": {
        "hidden": [200],
        "activation": "leaky_relu",
        "negative_slope": 0.02,
        "norm": "layer",
        "norm_position": "after_activation",
        "output_activation": "sigmoid",
    },
    "train": {"loss": "bce", "optimizer": {"name": "adam", "lr": 0.001}, "epochs": 1},
}


def book(overrides: dict[str, Any]) -> Config:
    """The benchmark MLP with the suite's thread count pinned (``auto`` would follow load)."""
    return load_config(BOOK_MLP, {"train.threads": THREADS[0], **overrides})


def rss_mb() -> float:
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def subset(data: DataBundle, n: int) -> DataBundle:
    train = Split(data.train.x[:n], data.train.y[:n])
    return DataBundle(train, data.val, data.test, data.classes, data.input_shape, data.preprocess)


def hone_loop(telemetry: bool) -> Callable[[BuiltRun, int, int], None]:
    def run(built: BuiltRun, epochs: int, batch: int) -> None:
        from hone.train.callbacks import Telemetry

        callbacks = [Telemetry(4, built.data.train.x[:512])] if telemetry else []
        built.fit(callbacks)

    return run


def timed_variants(
    cfg: Config,
    data: DataBundle,
    variants: dict[str, Callable[..., None]],
    repeats: int,
    batch: int,
) -> dict[str, dict[str, Any]]:
    """Each loop on a freshly built run (same seed, same initial weights), interleaved with the
    order rotated every repeat; wall and CPU medians and minima, n and spread per loop."""

    def contender(fn: Callable[..., Any]) -> Callable[[BuiltRun], dict[str, Any]]:
        def run(built: BuiltRun) -> dict[str, Any]:
            own = fn(built, cfg.train.epochs, batch)  # a loop with its own model reports it
            return {"built": built, **(own if isinstance(own, dict) else {})}

        return run

    res = interleaved(
        {k: contender(fn) for k, fn in variants.items()},
        repeats,
        prepare=lambda name: build_run(cfg, data),
    )
    for r in res.values():  # accuracy after timing: evaluation is not part of the loop
        built = r.pop("built")
        r.setdefault("test_accuracy", final_metrics(built)["test_accuracy"])
    return res


# ---- 1. engine overhead ---------------------------------------------------------------------


def bench_engine(quick: bool) -> dict[str, Any]:
    from benchmarks.anchors import available_anchors

    base = book({"telemetry": False})
    data = build_run(base).data
    if quick:
        data = subset(data, 6000)
    anchors = available_anchors()
    rows, out = [], {"load_before": load()}
    for batch in (32, 128, 512):
        cfg = load_config(base, {"train.batch_size": batch})
        loops: dict[str, Callable[..., None]] = {
            "bare": bare_loop,
            "hone": hone_loop(False),
            "hone+telemetry": hone_loop(True),
            "DataLoader": dataloader_loop,
        }
        if batch == 128:  # the anchors at the common batch size only: they are slow
            loops.update(anchors)
        res = timed_variants(cfg, data, loops, repeats=1 if quick else 3, batch=batch)
        bare, bare_cpu = res["bare"]["median_s"], res["bare"]["median_cpu_s"]
        out[str(batch)] = {
            **res,
            "ratios": {k: v["median_s"] / bare for k, v in res.items()},
            "cpu_ratios": {k: v["median_cpu_s"] / bare_cpu for k, v in res.items()},
        }
        for name, r in res.items():
            rows.append([batch, name, r["median_s"], r["min_s"], r["median_cpu_s"], r["n"],
                         r["spread"], r["median_s"] / bare, r["median_cpu_s"] / bare_cpu,
                         r["test_accuracy"]])  # fmt: skip
    out["load_after"] = load()
    out["anchors_missing"] = [k for k in ("Lightning", "Keras 3 (torch)") if k not in anchors]
    print_table(
        f"1. engine overhead (1 epoch; interleaved, order rotated each repeat; load "
        f"{out['load_before']:.2f} → {out['load_after']:.2f})",
        ["batch", "loop", "median s", "min s", "cpu s", "n", "spread", "x bare", "x bare cpu",
         "test acc"],
        rows,
    )  # fmt: skip
    if out["anchors_missing"]:
        print(f"   skipped (not installed): {', '.join(out['anchors_missing'])}")
    r128 = out["128"]["ratios"]
    out["targets"] = {
        "hone <= 1.05x bare (telemetry off)": max(
            out[b]["ratios"]["hone"] for b in ("32", "128", "512")
        ),
        "hone <= 1.10x bare (telemetry on)": max(
            out[b]["ratios"]["hone+telemetry"] for b in ("32", "128", "512")
        ),
        "DataLoader / hone at batch 128 >= 1.3": r128["DataLoader"] / r128["hone"],
    }
    return out


# ---- 2. compute efficiency ------------------------------------------------------------------


def matmul_peak(n: int = 1024, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def executed_flops(built: BuiltRun, batch: int) -> int:
    """FLOPs one training step executes (forward, backward, counted by torch's flop counter;
    the optimizer's elementwise update is not a matmul and is not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    x, y = built.data.train.x[:batch], built.data.train.y[:batch]
    with FlopCounterMode(display=False) as counter:
        built.loss_fn(built.model(x), y).backward()
    built.model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def bench_flops(quick: bool) -> dict[str, Any]:
    peak = matmul_peak()
    base = book({"telemetry": False})
    data = subset(build_run(base).data, 6000 if quick else 20000)
    no_val = DataBundle(data.train, None, data.test, data.classes, data.input_shape,
                        data.preprocess)  # fmt: skip
    rows, out = [], {"matmul_peak_gflops": peak / 1e9, "load": load()}
    for batch in (128, 256, 512, 1024):
        cfg = load_config(base, {"train.batch_size": batch})
        probe = build_run(cfg, no_val)
        per_sample = executed_flops(probe, batch) / batch
        params = sum(p.numel() for p in probe.model.parameters())
        res = interleaved({"fit": lambda built: built.fit()}, 1 if quick else 3,
                          prepare=lambda name, cfg=cfg: build_run(cfg, no_val))["fit"]  # fmt: skip
        flops = per_sample * len(data.train) / res["median_s"]
        out[str(batch)] = {
            "executed_flops_per_sample": per_sample,
            "six_params_flops_per_sample": 6 * params,
            "gflops": flops / 1e9,
            "share_of_peak": flops / peak,
            **{k: res[k] for k in ("n", "median_s", "min_s", "median_cpu_s", "spread")},
        }
        rows.append([batch, per_sample, 6 * params, flops / 1e9, flops / peak, res["n"],
                     res["spread"]])  # fmt: skip
    print_table(
        f"2. compute efficiency: executed FLOPs (torch.utils.flop_counter) per second vs the "
        f"matmul peak {peak / 1e9:.1f} GFLOP/s measured in the same run; "
        f"{torch.get_num_threads()} thread(s)",
        ["batch", "FLOPs/sample", "6 x params", "GFLOP/s", "share of peak", "n", "spread"],
        rows,
    )
    out["profile_batch_256"] = profile_step(base, data)
    return out


def profile_step(base: Config, data: DataBundle) -> list[dict[str, Any]]:
    from torch.profiler import ProfilerActivity, profile

    cfg = load_config(base, {"train.batch_size": 256})
    built = build_run(
        cfg,
        DataBundle(
            subset(data, 256 * 20).train,
            None,
            data.test,
            data.classes,
            data.input_shape,
            data.preprocess,
        ),
    )
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        built.fit()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
    total = sum(e.self_cpu_time_total for e in prof.key_averages()) or 1
    top = [{"op": e.key, "self_share": e.self_cpu_time_total / total} for e in events]
    print_table(
        "   where the time goes at batch 256 (self CPU time)",
        ["op", "share"],
        [[t["op"], t["self_share"]] for t in top],
    )
    return top


# ---- 3. the book ladder ---------------------------------------------------------------------


def bench_ladder(quick: bool) -> dict[str, Any]:
    from benchmarks.book_ladder import BOOK, LADDER

    rows, out, data = [], {}, None
    for step, path in enumerate(LADDER, start=1):
        if quick and step not in (1, 5):
            continue
        cfg = load_config(
            path,
            {
                "train.batch_size": 128,
                "data.path": str(DATASETS / "mnist"),
                "telemetry": False,
                "train.threads": THREADS[0],
            },
        )
        if quick:
            cfg = load_config(cfg, {"train.epochs": 1})
        if data is None:
            data = build_run(cfg).data
        res = timed_variants(
            cfg,
            data,
            {"bare": bare_loop, "hone": hone_loop(False)},
            1,
            cfg.train.batch_size if isinstance(cfg.train.batch_size, int) else 128,
        )
        ratio = res["hone"]["median_s"] / res["bare"]["median_s"]
        book_acc, book_s = BOOK.get(step, (None, None))
        out[path.stem] = {**res, "ratio": ratio, "book_accuracy": book_acc, "book_seconds": book_s}
        rows.append(
            [
                path.stem,
                res["hone"]["test_accuracy"],
                res["hone"]["median_s"],
                res["bare"]["median_s"],
                ratio,
                book_acc or "-",
                book_s or "-",
            ]
        )
    print_table(
        "3. the MNIST book ladder, batch 128",
        ["step", "test acc", "hone s", "bare s", "x bare", "book acc", "book s"],
        rows,
    )
    return out


# ---- 4. sweep throughput and 5. memory ------------------------------------------------------


SWEEP_SPACE = {"lr": (1e-4, 1e-2), "hidden": [64, 128, 256], "dropout": (0.0, 0.5)}


def _plain_objective(data: DataBundle, loader: bool) -> Callable[[Any], float]:
    """The Optuna objective a user writes by hand: the same model, 1 epoch, val accuracy."""

    def objective(trial: Any) -> float:
        lr = trial.suggest_float("lr", *SWEEP_SPACE["lr"], log=True)
        width = trial.suggest_categorical("hidden", SWEEP_SPACE["hidden"])
        dropout = trial.suggest_float("dropout", *SWEEP_SPACE["dropout"])
        model = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(784, width),
            torch.nn.LeakyReLU(0.02),
            torch.nn.LayerNorm(width),
            torch.nn.Linear(width, 10),
        )
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        x, y = data.train.x, data.train.y
        if loader:
            batches: Any = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
        else:
            perm = torch.randperm(len(y))
            batches = ((x[perm[i : i + 128]], y[perm[i : i + 128]]) for i in range(0, len(y), 128))
        for xb, yb in batches:
            loss = F.binary_cross_entropy_with_logits(model(xb), F.one_hot(yb, 10).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            assert data.val is not None
            return float((model(data.val.x).argmax(1) == data.val.y).float().mean())

    return objective


def bench_sweep(quick: bool) -> dict[str, Any]:
    """hone tune against a plain Optuna study driving a DataLoader loop and a plain loop: the
    same random search, interleaved in rounds with the order rotated, each round a fresh
    study (and, for hone, a fresh store, so each round pays its set-up as a user would)."""
    import tempfile

    import optuna

    from hone.experiments.tune import ParamSpec, tune
    from hone.store import RunStore

    trials, rounds = (4, 1) if quick else (20, 3)
    n_rows = 5000 if quick else 10000
    base = book({"data.split": {"train": n_rows / 60000, "val": 2000 / 60000},
                                  "telemetry": False, "train.batch_size": 128})  # fmt: skip
    specs = [
        ParamSpec("train.optimizer.lr", "float", *SWEEP_SPACE["lr"], log=True),
        ParamSpec("model.hidden", "categorical", choices=[[w] for w in SWEEP_SPACE["hidden"]]),
        ParamSpec("model.dropout", "float", *SWEEP_SPACE["dropout"]),
    ]
    data = build_run(base).data
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    training: list[float] = []

    def hone_sweep(_: Any) -> dict[str, Any]:
        store = tempfile.mkdtemp(prefix="hone-bench-")
        result = tune(base, specs, trials=trials, metric="val_accuracy", store=store,
                      storage=None, study_name="b", sampler="random", pruner="none")  # fmt: skip
        with RunStore(store) as rs:
            runs = [rs.get_run(t["run_id"]) for t in result.trials if t["run_id"]]
        training.append(sum(sum(r.history.get("epoch_seconds", [])) for r in runs))
        return {}

    def plain(loader: bool) -> Callable[[Any], dict[str, Any]]:
        def sweep(_: Any) -> dict[str, Any]:
            study = optuna.create_study(direction="maximize",
                                        sampler=optuna.samplers.RandomSampler(seed=0))  # fmt: skip
            study.optimize(_plain_objective(data, loader), n_trials=trials)
            return {}

        return sweep

    before = load()
    res = interleaved(
        {"hone tune": hone_sweep, "Optuna + DataLoader": plain(True), "Optuna + plain loop":
         plain(False)}, rounds)  # fmt: skip
    hone_med = res["hone tune"]["median_s"]
    overhead = (hone_med - statistics.median(training)) / trials
    rows = [[name, r["n"], trials / r["median_s"] * 60, r["median_s"], r["min_s"],
             r["median_cpu_s"], r["spread"], r["median_cpu_s"] / res["hone tune"]["median_cpu_s"]]
            for name, r in res.items()]  # fmt: skip
    print_table(
        f"4. sweep: {trials} random 1-epoch trials on {n_rows} MNIST rows per round, "
        f"{rounds} interleaved rounds; load {before:.2f} → {load():.2f}",
        ["contender", "n", "trials/min", "median s", "min s", "cpu s", "spread", "cpu / hone"],
        rows,
    )
    print(f"   hone outside training: {overhead * 1000:.0f} ms per trial (median round)")
    return {
        "trials": trials,
        "rounds": rounds,
        "train_rows": n_rows,
        "contenders": res,
        "hone_training_s": training,
        "hone_overhead_ms_per_trial": overhead * 1000,
        "rss_mb_after_sweeps": rss_mb(),
    }


def bench_memory(quick: bool) -> dict[str, Any]:
    import tempfile

    import hone

    store = tempfile.mkdtemp(prefix="hone-bench-")
    base = book({"train.batch_size": 128})
    hone.run(base, store=store)  # warm: first run loads libraries and data
    after: list[float] = []
    for i in range(4 if quick else 12):
        hone.run(
            base,
            store=store,
            seed=i,
            **({"data.split": {"train": 0.1, "val": 0.02}} if quick else {}),
        )
        gc.collect()
        after.append(rss_mb())
    growth = (after[-1] - after[len(after) // 2]) / max(1, len(after) - 1 - len(after) // 2)
    out = {
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_each_run_mb": after,
        "growth_mb_per_run_second_half": growth,
    }
    print_table(
        "5. memory (MNIST runs in one process)",
        ["", "value"],
        [
            ["peak RSS MB", out["peak_rss_mb"]],
            ["RSS after runs MB", " ".join(f"{v:.0f}" for v in after)],
            ["growth MB/run (second half)", growth],
        ],
    )
    return out


BENCHES: dict[str, Callable[[bool], dict[str, Any]]] = {
    "engine": bench_engine,
    "flops": bench_flops,
    "ladder": bench_ladder,
    "sweep": bench_sweep,
    "memory": bench_memory,
    "threads": bench_threads,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run (about a minute)")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for every contender (default 1)"
    )
    args = parser.parse_args()
    THREADS[0] = args.threads
    torch.set_num_threads(args.threads)
    chosen = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = [b for b in chosen if b not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; valid: {', '.join(BENCHES)}")
    print(f"machine: {machine_info()}")
    results: dict[str, Any] = {"quick": args.quick}
    started = time.perf_counter()
    name_out = "suite" if set(chosen) == set(BENCHES) else "suite-" + "-".join(chosen)
    name_out += "-quick" if args.quick else ""
    for name in chosen:
        results[name] = BENCHES[name](args.quick)
        results["total_seconds"] = time.perf_counter() - started
        path = write_result(name_out, results)  # after each one: a crash keeps what was measured
    print(f"total {results['total_seconds']:.0f} s; wrote {path}")


if __name__ == "__main__":
    main()
