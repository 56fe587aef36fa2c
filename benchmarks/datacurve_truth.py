"""More data or more tuning? ``hone datacurve``'s answer beside what each remedy measured.

For each case, the curve is read as ``hone datacurve`` reads it (4 fractions, 2 seeds); then,
on 3 fresh seeds each and scored on the official test set (10,000 images the curve never
saw), the config as it is, the config on twice the training rows (drawn from the rest of
the 60,000), and the config trained for twice the epochs. An answer *helps* where its remedy
measured: ``more_data`` when doubling the rows cut the error by at least 0.005,
``underfitting`` (train longer) when twice the epochs did, ``plateau`` when neither did; it
is the *best* answer where no other remedy measured more (doubling the rows also doubles
the steps an epoch takes, so it gains what twice the epochs gains and what the data adds).

    python -m benchmarks.datacurve_truth            # ~2 minutes on 2 quiet cores
    python -m benchmarks.datacurve_truth --only mnist

Writes benchmarks/results/datacurve_truth.json with the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

from benchmarks.common import DATASETS, load, machine_info, print_table, write_result
from hone.assemble import build_run
from hone.config import Config, load_config
from hone.diagnose.datacurve import WORTH_IT
from hone.evaluate.predict import evaluate_split
from hone.experiments.datacurve import data_curve

FRACTIONS = [0.1, 0.25, 0.5, 1.0]
SEEDS = 3


def _mlp(dataset: str, hidden: list[int], train: float, epochs: int) -> dict[str, Any]:
    folder = "mnist" if dataset == "mnist" else "fashion-mnist"
    return {
        "data": {"dataset": dataset, "path": str(DATASETS / folder),
                 "split": {"train": train, "val": 0.05}, "preprocess": {"scale": "none"}},
        "model": {"hidden": hidden},
        "train": {"optimizer": {"name": "adam", "lr": 0.001}, "batch_size": 128,
                  "epochs": epochs, "threads": 1},
        "telemetry": False,
    }  # fmt: skip


CASES: dict[str, dict[str, Any]] = {
    # 784-200-10 on 6,000 images for 5 epochs: a capable model short of data
    "mnist 6k, 5 epochs": _mlp("mnist", [200], 0.1, 5),
    # lesson 4's CI slice: 1,800 images for 2 epochs, 8 steps on its smallest fraction
    "fashion 1.8k, 2 epochs": _mlp("fashion_mnist", [256], 0.03, 2),
    # lesson 4's full budget: 12,000 images for 8 epochs
    "fashion 12k, 8 epochs": _mlp("fashion_mnist", [256], 0.2, 8),
    # a 16-unit bottleneck trained long on 6,000 images
    "mnist 6k, 16 units, 40 epochs": _mlp("mnist", [16], 0.1, 40),
    # a wide net trained long on 6,000 clothes: it memorises
    "fashion 6k, 20 epochs": _mlp("fashion_mnist", [256], 0.1, 20),
    # a small net on 3,000 digits for 10 epochs
    "mnist 3k, 32 units, 10 epochs": _mlp("mnist", [32], 0.05, 10),
}


def test_error(cfg: Config) -> float:
    built = build_run(cfg)
    built.fit()
    assert built.data.test is not None
    return 1.0 - evaluate_split(built.model, built.data.test, built.loss_fn)["accuracy"]


def arms(base: dict[str, Any]) -> dict[str, list[float]]:
    """Test error of the config, on twice the rows, and for twice the epochs, per seed."""
    train, epochs = base["data"]["split"]["train"], base["train"]["epochs"]
    patches = {"as is": {}, "2x rows": {"data.split.train": 2 * train},
               "2x epochs": {"train.epochs": 2 * epochs}}  # fmt: skip
    return {
        name: [test_error(load_config(base, {**patch, "seed": 100 + s})) for s in range(SEEDS)]
        for name, patch in patches.items()
    }


def truth(errors: dict[str, list[float]]) -> tuple[str, float, float]:
    """The best answer (see the module docstring), and the gains of the two remedies."""
    now = statistics.fmean(errors["as is"])
    data = now - statistics.fmean(errors["2x rows"])
    longer = now - statistics.fmean(errors["2x epochs"])
    if data >= WORTH_IT and data > longer:
        return "more_data", data, longer
    if longer >= WORTH_IT:
        return "underfitting", data, longer
    return "plateau", data, longer


def helps(verdict: str, data: float, longer: float) -> bool:
    """Whether the answer's own remedy measured (see the module docstring)."""
    if verdict == "more_data":
        return data >= WORTH_IT
    if verdict == "underfitting":
        return longer >= WORTH_IT
    return data < WORTH_IT and longer < WORTH_IT


def run_case(name: str, base: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    curve = data_curve(load_config(base), FRACTIONS, seeds=2)
    curve_seconds = time.perf_counter() - started
    errors = arms(base)
    measured, data, longer = truth(errors)
    return {
        "case": name, "verdict": curve.verdict, "truth": measured,
        "best": curve.verdict == measured, "helps": helps(curve.verdict, data, longer),
        "projected_gain": curve.projected_gain_when_doubled,
        "interval": curve.gain_interval, "under_trained": bool(curve.evidence.get("under_trained")),
        "points": [(p.n_train, p.mean_train, p.mean_val) for p in curve.points],
        "test_error": errors, "gain_2x_rows": data, "gain_2x_epochs": longer,
        "curve_seconds": round(curve_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="cases whose name contains this text")
    args = parser.parse_args()
    torch.set_num_threads(1)
    before = load()
    results = [run_case(n, c) for n, c in CASES.items() if args.only in n]
    rows = [
        [r["case"], r["verdict"], f"{r['projected_gain']:.4f}" if r["projected_gain"] else "-",
         "-" if not r["interval"] else f"{r['interval'][0]:.4f} to {r['interval'][1]:.4f}",
         f"{r['gain_2x_rows']:+.4f}", f"{r['gain_2x_epochs']:+.4f}",
         "yes" if r["helps"] else "NO", r["truth"]]
        for r in results
    ]  # fmt: skip
    print_table(
        "hone datacurve against the remedies, measured (test error, 3 fresh seeds)",
        ["case", "verdict", "projected", "90 % interval", "2x rows", "2x epochs", "it helps",
         "best"],
        rows,
    )  # fmt: skip
    helped, best = sum(r["helps"] for r in results), sum(r["best"] for r in results)
    print(f"the answer's remedy helped in {helped} of {len(results)}, was the best in {best}; "
          f"load {before:.2f} -> {load():.2f}")  # fmt: skip
    write_result("datacurve_truth", {"machine": machine_info(), "cases": results})


if __name__ == "__main__":
    main()
