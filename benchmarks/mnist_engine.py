"""hone's engine vs a bare hand-written loop vs the idiomatic DataLoader loop on MNIST.

Same model (784-200-10 LeakyReLU), same Adam, same seed, same data tensors, in one process.
Prints test accuracy and seconds per variant and the ratios to the bare loop.

    python benchmarks/mnist_engine.py [--epochs 3] [--batch 128] [--repeats 1]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.common import DATASETS, median_time, print_table, write_result
from hone.api import BuiltRun, build_run, final_metrics
from hone.config import load_config
from hone.train.engine import fit


def config(epochs: int, batch: int) -> dict[str, Any]:
    return {
        "name": "bench-mnist",
        "data": {"dataset": "mnist", "path": str(DATASETS / "mnist")},
        "model": {"hidden": [200], "activation": "leaky_relu"},
        "train": {
            "loss": "cross_entropy",
            "optimizer": {"name": "adam", "lr": 0.001},
            "batch_size": batch,
            "epochs": epochs,
        },
    }


def accuracy(built: BuiltRun) -> float:
    return final_metrics(built)["test_accuracy"]


def run_hone(built: BuiltRun, epochs: int, batch: int) -> None:
    fit(
        built.model,
        built.optimizer,
        built.loss_fn,
        built.data.train,
        built.data.val,
        epochs=epochs,
        batch_size=batch,
        generator=built.generator,
    )


def run_bare(built: BuiltRun, epochs: int, batch: int) -> None:
    """What a careful user writes: tensors in memory, a permutation, slices."""
    model, opt = built.model, built.optimizer
    x, y = built.data.train.x, built.data.train.y
    n = len(y)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=built.generator)
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():  # per-epoch validation, as hone does
            F.cross_entropy(model(built.data.val.x), built.data.val.y)  # type: ignore[union-attr]


def run_dataloader(built: BuiltRun, epochs: int, batch: int) -> None:
    """The idiomatic tutorial loop: DataLoader(TensorDataset, shuffle=True)."""
    model, opt = built.model, built.optimizer
    loader = DataLoader(
        TensorDataset(built.data.train.x, built.data.train.y),
        batch_size=batch,
        shuffle=True,
        generator=built.generator,
    )
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            F.cross_entropy(model(built.data.val.x), built.data.val.y)  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    cfg = load_config(config(args.epochs, args.batch))
    data = build_run(cfg).data  # load once; every variant trains on the same tensors
    rows, results = [], {}
    for name, fn in (("bare loop", run_bare), ("hone", run_hone), ("DataLoader", run_dataloader)):
        accs: list[float] = []

        def once(fn: Any = fn, accs: list[float] = accs) -> None:
            built = build_run(cfg, data)  # same seed: same init and batch order
            fn(built, args.epochs, args.batch)
            accs.append(accuracy(built))

        seconds, samples = median_time(once, args.repeats)
        results[name] = {"seconds": seconds, "samples": samples, "test_accuracy": accs}
    bare = results["bare loop"]["seconds"]
    for name, r in results.items():
        rows.append([name, r["test_accuracy"][-1], r["seconds"], r["seconds"] / bare])
    print_table(
        f"MNIST 784-200-10 LeakyReLU Adam, batch {args.batch}, {args.epochs} epochs",
        ["loop", "test acc", "seconds", "x bare"],
        rows,
    )
    path = write_result(
        "mnist_engine",
        {"epochs": args.epochs, "batch": args.batch, "results": results, "at": time.time()},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
