"""Diagnosis-based pruning against no pruner and Optuna's median pruner, on BTTackler's measure.

A search space with real bad regions (learning rate 1e-5..10 on a log scale, zeros/normal/He
initialisation, sigmoid or ReLU at depth 2..10, batch size 1..full) on scikit-learn's digits
(1,078 training rows, 10 classes). Each study runs TPE for a fixed wall-clock budget; studies
with the same seed start from the same sampler seed. For each pruner and study seed:

- the time to reach the no-pruner study's best validation accuracy (within 0.5 point), and
- the best validation accuracy found within the budget.

    python -m benchmarks.pruning [--budget 120] [--seeds 3] [--pruners none,median,diagnosis]

Writes benchmarks/results/pruning.json. The studies' own time is the measure, so run it alone
on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

import optuna

from benchmarks.common import print_table, write_result
from hone.config import load_config
from hone.experiments.tune import make_pruner, make_sampler, parse_pruner, parse_space

BASE: dict[str, Any] = {
    "name": "pruning-bench",
    "data": {"dataset": "digits", "split": "6:2:2"},
    "model": {"hidden": [32, 32]},
    "train": {"epochs": 12, "batch_size": 64, "optimizer": {"name": "adam", "lr": 0.001}},
}
TRAIN_ROWS = 1078  # digits, 60 % of 1,797
SPACE: dict[str, Any] = {
    "train.optimizer.lr": {"type": "float", "low": 1e-5, "high": 10.0, "log": True},
    "model.init": {"type": "categorical", "choices": ["auto", "zeros", "normal"]},
    "model.activation": {"type": "categorical", "choices": ["sigmoid", "relu"]},
    "model.hidden": {"type": "categorical", "choices": [[32] * d for d in range(2, 11)]},
    "train.batch_size": {"type": "int", "low": 1, "high": TRAIN_ROWS, "log": True},
}
WITHIN = 0.005  # "reached the best": within half a point of accuracy


def run_study(pruner: str, seed: int, budget: float, store: str) -> list[dict[str, Any]]:
    """One TPE study for ``budget`` seconds; each finished trial with its time and value."""
    from hone.experiments.tune import _objective  # the objective `hone tune` runs

    base = load_config(BASE, {"seed": seed})
    specs = parse_space(SPACE, base)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(
        direction="maximize",
        sampler=make_sampler("tpe", specs, seed),
        pruner=make_pruner(pruner),
    )
    objective = _objective(base.to_dict(), specs, "val_accuracy", store, None,
                           parse_pruner(pruner)[1])  # fmt: skip
    started = time.perf_counter()
    trials: list[dict[str, Any]] = []

    def record(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        trials.append({
            "t": time.perf_counter() - started,
            "state": trial.state.name.lower(),
            "value": trial.value,
            "pruned_by": trial.user_attrs.get("pruned_by"),
            "epoch": trial.user_attrs.get("pruned_epoch"),
        })  # fmt: skip

    from hone.experiments.tune import RunFailed

    study.optimize(objective, timeout=budget, catch=(RunFailed,), callbacks=[record])
    return trials


def best_by(trials: list[dict[str, Any]], until: float | None = None) -> float:
    values = [t["value"] for t in trials if t["value"] is not None
              and (until is None or t["t"] <= until)]  # fmt: skip
    return max(values) if values else 0.0


def time_to(trials: list[dict[str, Any]], target: float) -> float | None:
    """Seconds until a trial finished with a value within ``WITHIN`` of ``target``."""
    return next((t["t"] for t in trials if t["value"] is not None
                 and t["value"] >= target - WITHIN), None)  # fmt: skip


def bench_pruning(quick: bool, budget: float = 120.0, seeds: int = 3,
                  pruners: tuple[str, ...] = ("none", "median", "diagnosis", "median+diagnosis"),
                  ) -> dict[str, Any]:  # fmt: skip
    if quick:
        budget, seeds = 20.0, 1
    studies: dict[str, dict[int, list[dict[str, Any]]]] = {p: {} for p in pruners}
    with tempfile.TemporaryDirectory() as store:
        for seed in range(seeds):  # pruners alternate within each seed: drift hits all alike
            for pruner in pruners:
                studies[pruner][seed] = run_study(pruner, seed, budget, store)
    out: dict[str, Any] = {"budget_s": budget, "seeds": seeds, "space": SPACE, "base": BASE}
    rows = []
    for pruner in pruners:
        per_seed = []
        for seed in range(seeds):
            trials = studies[pruner][seed]
            target = best_by(studies["none"][seed])
            reached = time_to(trials, target)
            causes: dict[str, int] = {}
            for t in trials:
                if t["state"] == "pruned":
                    causes[t["pruned_by"] or "metric"] = (
                        causes.get(t["pruned_by"] or "metric", 0) + 1
                    )
            per_seed.append({
                "seed": seed, "trials": len(trials), "best": best_by(trials),
                "target": target, "time_to_target_s": reached,
                "pruned": sum(t["state"] == "pruned" for t in trials),
                "failed": sum(t["state"] == "fail" for t in trials), "pruned_by": causes,
            })  # fmt: skip
        times = [s["time_to_target_s"] for s in per_seed]
        reached_all = all(t is not None for t in times)
        summary = {
            "per_seed": per_seed,
            "mean_best": statistics.fmean(s["best"] for s in per_seed),
            # A study that never reached the target is counted at the full budget.
            "mean_time_to_target_s": statistics.fmean(
                t if t is not None else budget for t in times
            ),
            "reached_all": reached_all,
            "mean_trials": statistics.fmean(s["trials"] for s in per_seed),
        }
        out[pruner] = summary
        reached = f"{sum(t is not None for t in times)}/{seeds}"
        rows.append([pruner, summary["mean_trials"], sum(s["pruned"] for s in per_seed),
                     summary["mean_time_to_target_s"], reached, summary["mean_best"]])  # fmt: skip
    ref = out["none"]["mean_time_to_target_s"]
    for pruner in pruners:
        t = out[pruner]["mean_time_to_target_s"]
        out[pruner]["time_saved_vs_none"] = 1 - t / ref if ref else None
        if "median" in out:
            m = out["median"]["mean_time_to_target_s"]
            out[pruner]["time_saved_vs_median"] = 1 - t / m if m else None
    print_table(f"Pruning on digits, TPE, {budget:.0f} s per study, {seeds} seeds",
                ["pruner", "trials", "pruned", "s to none's best", "reached", "best val acc"],
                rows)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per study")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pruners", default="none,median,diagnosis,median+diagnosis")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    pruners = tuple(args.pruners.split(","))
    if "none" not in pruners:
        parser.error("--pruners: include none (the reference)")
    write_result("pruning", bench_pruning(args.quick, args.budget, args.seeds, pruners))


if __name__ == "__main__":
    main()
