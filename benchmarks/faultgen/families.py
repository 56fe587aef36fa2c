"""Families: a dataset and an architecture, each with a healthy config that trains well.

A family is the unit of the development / held-out split: whole families go to one half, so
the held-out half holds dataset x architecture combinations no threshold was tuned on.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.faultgen.data import DataRecipe, base_arrays, write_csv

__all__ = [
    "ARCHITECTURES",
    "DATASETS",
    "HALVES",
    "DatasetSpec",
    "Family",
    "assign_halves",
    "families",
]

HALVES = ("dev", "heldout")


@dataclass(frozen=True, eq=False)
class DatasetSpec:
    """One dataset: how hone reads it, how the arrays are rebuilt, how it trains when healthy."""

    name: str
    data: dict[str, Any]  # the healthy ``data:`` section (paths filled in by ``Family``)
    arrays: tuple[str, dict[str, Any]]  # (base_arrays name, params) to rebuild the rows
    train: dict[str, Any]  # the healthy ``train:`` section, before the architecture's lr
    task: str = "classification"
    image: bool = False
    short: bool = False  # trains for at most 3 epochs (MNIST-style subsets)
    minority_label: int = 1  # the class kept scarce by the imbalance fault

    @property
    def regression(self) -> bool:
        return self.task == "regression"


def _adam(lr: float, epochs: int, patience: int | None, **extra: Any) -> dict[str, Any]:
    stop = {"early_stopping": {"patience": patience}} if patience else {}
    return {
        "optimizer": {"name": "adam", "lr": lr},
        "epochs": epochs,
        "batch_size": 32,
        "threads": 1,
        **stop,
        **extra,
    }


_STD = {"scale": "standard"}
DATASETS: dict[str, DatasetSpec] = {
    d.name: d
    for d in [
        DatasetSpec("moons", {"dataset": "moons", "params": {"n_samples": 600, "noise": 0.2},
                              "split": "6:2:2", "preprocess": _STD},
                    ("moons", {"n_samples": 600, "noise": 0.2}), _adam(0.01, 60, 8)),
        DatasetSpec("blobs", {"dataset": "blobs", "params": {"n_samples": 600, "cluster_std": 1.0},
                              "split": "6:2:2", "preprocess": _STD},
                    ("blobs", {"n_samples": 600, "cluster_std": 1.0}), _adam(0.01, 60, 8)),
        DatasetSpec("spiral", {"dataset": "spiral", "params": {"n_samples": 900, "classes": 3},
                               "split": "6:2:2", "preprocess": _STD},
                    ("spiral", {"n_samples": 900, "classes": 3}), _adam(0.01, 150, 15)),
        DatasetSpec("digits", {"dataset": "digits", "split": "6:2:2"}, ("digits", {}),
                    _adam(0.003, 40, 5), image=True, minority_label=8),
        DatasetSpec("csv", {"dataset": "csv", "target": "label", "split": "6:2:2",
                            "preprocess": _STD},
                    ("classification", {"n_samples": 800, "n_features": 10, "n_informative": 6,
                                        "n_classes": 3, "class_sep": 1.5}),
                    _adam(0.005, 80, 8)),
        DatasetSpec("regression", {"dataset": "regression", "task": "regression",
                                   "params": {"n_samples": 600, "n_features": 8,
                                              "n_informative": 6, "noise": 10.0},
                                   "split": "6:2:2", "preprocess": _STD},
                    ("regression", {"n_samples": 600, "n_features": 8, "n_informative": 6,
                                    "noise": 10.0}),
                    _adam(0.003, 150, 10, loss="mse"), task="regression"),
        DatasetSpec("mnist", {"dataset": "mnist", "split": {"train": 0.1, "val": 0.02}},
                    ("mnist", {}), _adam(0.002, 3, None, batch_size=64), image=True,
                    short=True, minority_label=9),
        DatasetSpec("fashion_mnist", {"dataset": "fashion_mnist",
                                      "split": {"train": 0.1, "val": 0.02}},
                    ("fashion_mnist", {}), _adam(0.002, 3, None, batch_size=64), image=True,
                    short=True, minority_label=6),
    ]
}  # fmt: skip

CNN = {"kind": "cnn", "conv": [{"filters": 8, "pool": "max2"}, {"filters": 16, "pool": "max2"}]}
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "small": {"hidden": [16]},
    "wide": {"hidden": [256]},
    "deep": {"hidden": [64, 64, 64, 64]},
    "cnn": {**CNN, "hidden": [32]},
}
# Wider and deeper nets take a smaller step than the 16-unit net on the same data.
LR_FACTOR = {"small": 1.0, "wide": 0.5, "deep": 0.5, "cnn": 1.0}


@dataclass(frozen=True)
class Family:
    dataset: DatasetSpec
    arch: str
    datasets_dir: Path = field(compare=False)
    files_dir: Path = field(compare=False)

    @property
    def name(self) -> str:
        return f"{self.dataset.name}/{self.arch}"

    @property
    def metric(self) -> str:
        return "val_loss" if self.dataset.regression else "val_accuracy"

    @property
    def source_path(self) -> str:
        """The IDX folder of an MNIST-style family ("" for the others)."""
        return str(self.datasets_dir / self.dataset.name.replace("_", "-"))

    def healthy(self) -> dict[str, Any]:
        """The family's healthy config (a fresh copy, safe to modify)."""
        spec = self.dataset
        data = copy.deepcopy(spec.data)
        if spec.short:
            data["path"] = self.source_path
        if spec.name == "csv":
            data["path"] = str(self.base_csv())
        train = copy.deepcopy(spec.train)
        train["optimizer"]["lr"] *= LR_FACTOR[self.arch]
        model = copy.deepcopy(ARCHITECTURES[self.arch])
        return {"name": self.name.replace("/", "-"), "data": data, "model": model, "train": train}

    def arrays_key(self) -> tuple[str, str, str]:
        name, params = self.dataset.arrays
        return name, json.dumps(params, sort_keys=True), self.source_path

    def base_csv(self) -> Path:
        target = self.files_dir / f"{self.dataset.name}-base.csv"
        if not target.exists():
            self.files_dir.mkdir(parents=True, exist_ok=True)
            write_csv(target, *base_arrays(*self.arrays_key()))
        return target

    def recipe(self, alteration: str, **options: Any) -> DataRecipe:
        name, params, path = self.arrays_key()
        fmt = "csv" if self.dataset.name == "csv" else "npz"
        return DataRecipe(name, params, path, alteration, options, fmt)

    def file_data(self, recipe: DataRecipe) -> dict[str, Any]:
        """A ``data:`` section that reads ``recipe``'s file (written before the run trains)."""
        data: dict[str, Any] = {
            "dataset": recipe.fmt,
            "path": str(recipe.target(self.files_dir)),
            "split": "6:2:2",
        }
        if recipe.fmt == "csv":
            data["target"] = "label"
        if self.dataset.regression:
            data["task"] = "regression"
        return data


def families(datasets_dir: Path, files_dir: Path, mnist: bool = True) -> list[Family]:
    """Every (dataset, architecture) pair: MLPs everywhere, the CNN on images. MNIST-style
    families need the IDX files under ``datasets_dir`` (left out with ``mnist=False``)."""
    out = []
    for spec in DATASETS.values():
        if spec.short and not mnist:
            continue
        archs = ["small", "wide", "deep"] + (["cnn"] if spec.image else [])
        out += [Family(spec, arch, datasets_dir, files_dir) for arch in archs]
    return out


def _rank(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def assign_halves(fams: list[Family]) -> dict[str, str]:
    """Family name -> half. Within each dataset the families are ordered by a hash of their
    name and alternate between the halves, starting from a half chosen by the dataset's hash:
    both halves see every dataset (so every fault), never the same dataset x architecture."""
    halves: dict[str, str] = {}
    by_dataset: dict[str, list[Family]] = {}
    for fam in fams:
        by_dataset.setdefault(fam.dataset.name, []).append(fam)
    for dataset, members in sorted(by_dataset.items()):
        first = int(_rank(dataset), 16) % 2
        for i, fam in enumerate(sorted(members, key=lambda f: _rank(f.name))):
            halves[fam.name] = HALVES[(first + i) % 2]
    return halves
