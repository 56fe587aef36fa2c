"""How long diagnosis takes (issue 21's bounds): the rules on a run with 1,000 epochs of history
(the blobs baseline) with its reference cached, the first diagnosis of a dataset (the reference
fitted then), and the reference models alone on 100,000 tabular rows.

    python -m benchmarks.diagnosis_speed [--repeat 5] [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import hone
from benchmarks.common import machine_info
from hone.data.base import DataBundle, Split
from hone.evaluate.reference import fit_references


def _timed(fn: Any, repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "n": repeat}


def diagnosis_times(store: Path, repeat: int) -> dict[str, Any]:
    """The blobs baseline (1,000 epochs): the first diagnosis (reference fitted), then the
    rules alone with the reference cached."""
    result = hone.run(store=store, progress=False)
    started = time.perf_counter()
    hone.diagnose(result.run_id, store)
    first = time.perf_counter() - started
    warm = _timed(lambda: hone.diagnose(result.run_id, store), repeat)
    return {"epochs": result.epochs_run, "first_seconds": first, "cached": warm}


def reference_times(rows: int, repeat: int) -> dict[str, Any]:
    """The reference models on ``rows`` tabular rows (20 features, 3 classes), 80/20."""
    from sklearn.datasets import make_classification

    x, y = make_classification(rows, 20, n_informative=10, n_classes=3, random_state=0)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    cut = int(0.8 * rows)
    data = DataBundle(Split(x[:cut], y[:cut]), Split(x[cut:], y[cut:]), Split(x[:1], y[:1]),
                      ["0", "1", "2"], (20,), {})  # fmt: skip
    found: dict[str, Any] = {}

    def fit() -> None:
        found.update(fit_references(data))

    out = _timed(fit, repeat)
    out["models"] = {k: v.get("seconds") for k, v in found["models"].items()}
    out["scores"] = {k: v.get("val_accuracy") for k, v in found["models"].items()}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/diagnosis_speed.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        diagnosis = diagnosis_times(Path(tmp) / "store", args.repeat)
    reference = reference_times(args.rows, args.repeat)
    print(f"diagnosis of a {diagnosis['epochs']}-epoch run: first (reference fitted) "
          f"{diagnosis['first_seconds']:.2f} s; then {diagnosis['cached']['median']:.3f} s "
          f"(median of {args.repeat}, max {diagnosis['cached']['max']:.3f} s)")  # fmt: skip
    print(f"reference models on {args.rows:,} tabular rows: {reference['median']:.2f} s "
          f"(median of {args.repeat}, max {reference['max']:.2f} s); per model "
          f"{reference['models']}")  # fmt: skip
    payload = {
        "benchmark": "diagnosis_speed",
        "machine": machine_info(),
        "when": time.strftime("%F %T"),
        "diagnosis": diagnosis,
        "reference": reference,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1, default=float))
    print("wrote", args.out)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
