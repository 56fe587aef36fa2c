"""Run variants over paired seeds as one experiment in the run store, resumably, and compare
them with confidence intervals (``hone compare``)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict
from typing import Any

from hone.config import Config, load_config
from hone.errors import ConfigError
from hone.experiments.stats import compare_paired, summarize
from hone.experiments.variants import Variant
from hone.store.runstore import RunStore

__all__ = ["default_metric", "plan_experiment", "run_pending", "summarize_experiment"]

# (label of the run just done, done, total, labels of the runs in progress)
Progress = Callable[[str, int, int, list[str]], None]


def default_metric(cfg: Config) -> str:
    """``val_accuracy`` (or ``val_loss`` for regression) — test is never a selection metric."""
    from hone.api import load_run_data

    data = load_run_data(cfg)
    if data.val is None:
        raise ConfigError(
            "comparisons are made on the validation split and this config has none; set "
            "data.split.val (e.g. 0.2), or name another metric with --metric"
        )
    return "val_accuracy" if data.task == "classification" else "val_loss"


def plan_experiment(
    store: RunStore,
    kind: str,
    base: Config,
    variants: list[Variant],
    seeds: list[int],
    metric: str,
    extra: dict[str, Any] | None = None,
) -> str:
    spec = {
        "config": base.to_dict(),
        "variants": [asdict(v) for v in variants],
        "seeds": seeds,
        "metric": metric,
        **(extra or {}),
    }
    return store.create_experiment(kind, base.name, spec)


def _train(cfg: dict[str, Any], store_root: str, threads: int | None) -> tuple[str, str]:
    """One run in a worker process (module-level so it pickles)."""
    import hone

    overrides: dict[str, Any] = {"train.threads": threads} if threads else {}
    result = hone.run(cfg, store=store_root, **overrides)
    return result.run_id, result.status


def _jobs_plan(store: RunStore, exp_id: str) -> list[tuple[str, int, dict[str, Any]]]:
    record = store.get_experiment(exp_id)
    spec = record.spec
    done = {(r["variant"], r["seed"]) for r in record.runs}
    base = load_config(spec["config"])
    todo = []
    for v in spec["variants"]:
        variant = Variant(v["name"], v["patch"], v.get("compare_to"))
        for seed in spec["seeds"]:
            if (variant.name, seed) in done:
                continue
            cfg = variant.config(base)
            cfg.seed = seed
            cfg.name = f"{base.name}/{variant.name}"
            todo.append((variant.name, seed, cfg.to_dict()))
    return todo


def run_pending(
    store: RunStore, exp_id: str, jobs: int = 1, progress: Progress | None = None
) -> int:
    """Run every (variant, seed) of the experiment not yet linked to a completed run.

    With ``jobs > 1`` runs go to that many processes, each with ``cores // jobs`` threads so
    the machine is not oversubscribed. Returns the number of runs done now.
    """
    todo = _jobs_plan(store, exp_id)
    total, root = len(todo), str(store.root)
    if not todo:
        return 0
    if jobs <= 1:
        for i, (name, seed, cfg) in enumerate(todo, start=1):
            run_id, status = _train(cfg, root, None)
            if status == "completed":
                store.link_run(exp_id, name, seed, run_id)
            if progress:
                progress(f"{name} seed {seed}: {status}", i, total, [])
        return total
    threads = max(1, (os.cpu_count() or 1) // jobs)
    ctx = multiprocessing.get_context("spawn")
    done = 0
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures: dict[Future[tuple[str, str]], tuple[str, int]] = {
            pool.submit(_train, cfg, root, threads): (name, seed) for name, seed, cfg in todo
        }
        pending = set(futures)
        last = ""
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in finished:
                name, seed = futures[fut]
                run_id, status = fut.result()
                if status == "completed":
                    store.link_run(exp_id, name, seed, run_id)
                done += 1
                last = f"{name} seed {seed}: {status}"
            if progress:
                active = [f"{futures[f][0]} seed {futures[f][1]}" for f in pending if f.running()]
                progress(last, done, total, active)
    return total


def _metric_values(store: RunStore, runs: list[dict[str, Any]], metric: str) -> dict[int, float]:
    values = {}
    for r in runs:
        m = store.get_run(r["run_id"], with_history=False).metrics
        if metric in m and m[metric] is not None:
            values[r["seed"]] = float(m[metric])
    return values


def summarize_experiment(store: RunStore, exp_id: str) -> dict[str, Any]:
    """Per variant: mean ± 95 % CI of the metric over seeds, the paired difference against the
    variant it is judged against, and — labelled as final, never used to choose — test accuracy."""
    record = store.get_experiment(exp_id)
    spec = record.spec
    metric = spec["metric"]
    test_metric = "test_accuracy" if "accuracy" in metric else "test_loss"
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for r in record.runs:
        by_variant.setdefault(r["variant"], []).append(r)
    values = {
        v["name"]: _metric_values(store, by_variant.get(v["name"], []), metric)
        for v in spec["variants"]
    }
    rows = []
    for v in spec["variants"]:
        name, mine = v["name"], values[v["name"]]
        test = _metric_values(store, by_variant.get(name, []), test_metric)
        row: dict[str, Any] = {
            "name": name,
            "patch": v["patch"],
            "compare_to": v.get("compare_to"),
            "n": len(mine),
            "values": [mine[s] for s in sorted(mine)],
            "summary": summarize([mine[s] for s in sorted(mine)]).to_json(),
            "final_test": {
                "metric": test_metric,
                **summarize([test[s] for s in sorted(test)]).to_json(),
            },
            "run_ids": [
                r["run_id"] for r in sorted(by_variant.get(name, []), key=lambda r: r["seed"])
            ],
        }
        ref = v.get("compare_to")
        if ref and ref in values:
            seeds = sorted(set(mine) & set(values[ref]))
            if len(seeds) >= 2:
                cmp = compare_paired(
                    [mine[s] for s in seeds], [values[ref][s] for s in seeds], metric
                )
                row["vs"] = {"variant": ref, **cmp.to_json()}
        rows.append(row)
    planned = len(spec["variants"]) * len(spec["seeds"])
    return {
        "experiment": record.id,
        "kind": record.kind,
        "metric": metric,
        "seeds": spec["seeds"],
        "complete": len(record.runs) == planned,
        "runs_done": len(record.runs),
        "runs_planned": planned,
        "variants": rows,
    }
