"""The MNIST book ladder (examples/mnist_book_ladder): accuracy and wall time per step, next to
the book's figures (86.7 % in 4 min 32 s for step 1; 97.24 % in 13 min 28 s for step 5; batch 1,
Colab CPU). Each step is also run as a bare PyTorch loop on the same tensors for the ratio.

    python -m benchmarks.book_ladder [--batch 128] [--steps 1,5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.common import DATASETS, print_table, write_result
from benchmarks.loops import bare_loop
from hone.api import build_run, final_metrics
from hone.config import load_config

LADDER = sorted(
    (Path(__file__).resolve().parent.parent / "examples/mnist_book_ladder").glob("[0-9]_*.yaml")
)
BOOK = {1: (0.867, 272.0), 5: (0.9724, 808.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", default="1,2,3,4,5")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-loop comparison")
    args = parser.parse_args()
    wanted = [int(s) for s in args.steps.split(",")]
    rows, results, data = [], [], None
    for step, path in enumerate(LADDER, start=1):
        if step not in wanted:
            continue
        cfg = load_config(
            path, {"train.batch_size": args.batch, "data.path": str(DATASETS / "mnist")}
        )
        built = build_run(cfg, data)
        data = built.data
        start = time.perf_counter()
        built.fit()
        seconds = time.perf_counter() - start
        acc = final_metrics(built)["test_accuracy"]
        bare_s = None
        if not args.no_bare:
            ref = build_run(cfg, data)
            start = time.perf_counter()
            bare_loop(ref, cfg.train.epochs, args.batch)
            bare_s = time.perf_counter() - start
        book_acc, book_s = BOOK.get(step, (None, None))
        results.append(
            {
                "step": step,
                "config": path.name,
                "test_accuracy": acc,
                "seconds": seconds,
                "bare_seconds": bare_s,
                "book_accuracy": book_acc,
                "book_seconds": book_s,
            }
        )
        rows.append(
            [
                path.stem,
                acc,
                seconds,
                bare_s if bare_s else "-",
                seconds / bare_s if bare_s else "-",
                book_acc or "-",
                book_s or "-",
            ]
        )
    print_table(
        f"MNIST book ladder, batch {args.batch}, 3 epochs",
        ["step", "test acc", "hone s", "bare s", "x bare", "book acc", "book s"],
        rows,
    )
    print(
        "wrote", write_result(f"book_ladder_b{args.batch}", {"batch": args.batch, "steps": results})
    )


if __name__ == "__main__":
    main()
