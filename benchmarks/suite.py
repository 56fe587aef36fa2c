"""hone's benchmark suite: every figure is a ratio against plain PyTorch measured in the same run.

    python -m benchmarks.suite            # all six, under 10 minutes on a laptop CPU
    python -m benchmarks.suite --quick    # a one-minute smoke run (CI may run it)
    python -m benchmarks.suite --only engine,flops

1. engine   hone vs a bare loop vs DataLoader(TensorDataset, shuffle=True), MNIST 784-200-10
            (LeakyReLU, LayerNorm, BCE, Adam), batch 32/128/512, telemetry off and on
2. flops    achieved FLOP/s of the training step (6 x params x samples) vs measured matmul peak,
            and where the time goes (torch.profiler)
3. ladder   the book's five MNIST steps at batch 128 (see benchmarks/book_ladder.py)
4. sweep    32 random-search trials, 1 epoch each: hone tune vs a plain Optuna study driving
            the DataLoader loop; hone's own per-trial overhead
5. memory   peak RSS of a MNIST run and of the sweep; RSS after each trial (growth = leaks)
6. threads  train.threads: auto vs every core while another process keeps one core busy

Timed variants alternate within each repeat and report medians, so drift in machine load hits
all of them alike. Results go to benchmarks/results/suite.json with the machine's description.
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

from benchmarks.common import DATASETS, machine_info, print_table, write_result
from benchmarks.loops import bare_loop, dataloader_loop
from benchmarks.threads_under_load import bench_threads
from hone.api import BuiltRun, build_run, final_metrics
from hone.config import Config, load_config
from hone.data import DataBundle, Split

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
    """Median seconds per variant; variants alternate inside each repeat."""
    samples: dict[str, list[float]] = {k: [] for k in variants}
    accuracy: dict[str, float] = {}
    for _ in range(repeats):
        for name, fn in variants.items():
            built = build_run(cfg, data)
            gc.collect()
            start = time.perf_counter()
            fn(built, cfg.train.epochs, batch)
            samples[name].append(time.perf_counter() - start)
            accuracy[name] = final_metrics(built)["test_accuracy"]
    return {
        k: {"median_s": statistics.median(v), "samples": v, "test_accuracy": accuracy[k]}
        for k, v in samples.items()
    }


# ---- 1. engine overhead ---------------------------------------------------------------------


def bench_engine(quick: bool) -> dict[str, Any]:
    base = load_config(BOOK_MLP, {"telemetry": False})
    data = build_run(base).data
    if quick:
        data = subset(data, 6000)
    rows, out = [], {}
    for batch in (32, 128, 512):
        cfg = load_config(base, {"train.batch_size": batch})
        res = timed_variants(
            cfg,
            data,
            {
                "bare": bare_loop,
                "hone": hone_loop(False),
                "hone+telemetry": hone_loop(True),
                "DataLoader": dataloader_loop,
            },
            repeats=1 if quick else 3,
            batch=batch,
        )
        bare = res["bare"]["median_s"]
        out[str(batch)] = {**res, "ratios": {k: v["median_s"] / bare for k, v in res.items()}}
        for name, r in res.items():
            rows.append([batch, name, r["median_s"], r["median_s"] / bare, r["test_accuracy"]])
    print_table(
        "1. engine overhead (1 epoch; x bare = time / bare loop's time)",
        ["batch", "loop", "median s", "x bare", "test acc"],
        rows,
    )
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


def bench_flops(quick: bool) -> dict[str, Any]:
    peak = matmul_peak()
    base = load_config(BOOK_MLP, {"telemetry": False})
    data = subset(build_run(base).data, 6000 if quick else 20000)
    rows, out = [], {"matmul_peak_gflops": peak / 1e9}
    for batch in (128, 256, 512, 1024):
        cfg = load_config(base, {"train.batch_size": batch})
        built = build_run(
            cfg,
            DataBundle(
                data.train, None, data.test, data.classes, data.input_shape, data.preprocess
            ),
        )
        params = sum(p.numel() for p in built.model.parameters())
        start = time.perf_counter()
        built.fit()
        seconds = time.perf_counter() - start
        flops = 6 * params * len(data.train) / seconds
        out[str(batch)] = {"gflops": flops / 1e9, "share_of_peak": flops / peak, "seconds": seconds}
        rows.append([batch, flops / 1e9, flops / peak])
    print_table(
        f"2. compute efficiency (matmul peak {peak / 1e9:.1f} GFLOP/s, same run)",
        ["batch", "GFLOP/s", "share of peak"],
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
            {"train.batch_size": 128, "data.path": str(DATASETS / "mnist"), "telemetry": False},
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


def bench_sweep(quick: bool) -> dict[str, Any]:
    import optuna

    from hone.experiments.tune import ParamSpec, tune

    trials = 4 if quick else 32
    n_rows = 5000 if quick else 20000
    base = load_config(
        BOOK_MLP,
        {
            "data.split": {"train": n_rows / 60000, "val": 2000 / 60000},
            "telemetry": False,
            "train.batch_size": 128,
        },
    )
    specs = [
        ParamSpec("train.optimizer.lr", "float", 1e-4, 1e-2, log=True),
        ParamSpec("model.hidden", "categorical", choices=[[64], [128], [256]]),
        ParamSpec("model.dropout", "float", 0.0, 0.5),
    ]
    import tempfile

    store = tempfile.mkdtemp(prefix="hone-bench-")
    rss_before = rss_mb()
    start = time.perf_counter()
    result = tune(
        base,
        specs,
        trials=trials,
        metric="val_accuracy",
        store=store,
        storage=None,
        study_name="bench",
        sampler="random",
        pruner="none",
    )
    hone_s = time.perf_counter() - start
    from hone.store import RunStore

    with RunStore(store) as rs:
        records = [rs.get_run(t["run_id"]) for t in result.trials if t["run_id"]]
    train_s = sum(sum(r.history.get("epoch_seconds", [])) for r in records)
    rss_hone = rss_mb()

    data = build_run(base).data

    def plain_objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-4, 1e-2, log=True)
        width = trial.suggest_categorical("hidden", [64, 128, 256])
        dropout = trial.suggest_float("dropout", 0.0, 0.5)
        model = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(784, width),
            torch.nn.LeakyReLU(0.02),
            torch.nn.LayerNorm(width),
            torch.nn.Linear(width, 10),
        )
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loader = DataLoader(TensorDataset(data.train.x, data.train.y), batch_size=128, shuffle=True)
        for xb, yb in loader:
            loss = F.binary_cross_entropy_with_logits(model(xb), F.one_hot(yb, 10).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            assert data.val is not None
            return float((model(data.val.x).argmax(1) == data.val.y).float().mean())

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(plain_objective, n_trials=trials)
    plain_s = time.perf_counter() - start
    out = {
        "trials": trials,
        "train_rows": n_rows,
        "hone_trials_per_min": trials / hone_s * 60,
        "plain_trials_per_min": trials / plain_s * 60,
        "speedup": plain_s / hone_s,
        "hone_overhead_ms_per_trial": (hone_s - train_s) / trials * 1000,
        "rss_mb_before": rss_before,
        "rss_mb_after_hone_sweep": rss_hone,
    }
    print_table(
        f"4. sweep throughput ({trials} random trials, 1 epoch on {n_rows} MNIST rows)",
        ["", "value"],
        [[k, v] for k, v in out.items() if k not in ("trials", "train_rows")],
    )
    return out


def bench_memory(quick: bool) -> dict[str, Any]:
    import tempfile

    import hone

    store = tempfile.mkdtemp(prefix="hone-bench-")
    base = load_config(BOOK_MLP, {"train.batch_size": 128})
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
    parser.add_argument("--quick", action="store_true", help="a one-minute smoke run")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset")
    args = parser.parse_args()
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
