"""The arrays behind each family's dataset, and the altered copies some faults train on.

Healthy configs use hone's own loaders (``dataset: moons`` and so on); the arrays here are the
same data rebuilt outside hone, so a fault that needs altered data (scaled inputs, imbalance,
sorted rows, noisy labels) can write it as NPZ (or CSV for the CSV family) without reaching
into hone's internals. Every function is deterministic: the same arguments give the same file.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DataRecipe",
    "base_arrays",
    "derive",
    "mnist_subset",
    "spiral",
    "write_csv",
]

Arrays = tuple[np.ndarray, np.ndarray]

MNIST_ROWS = 4000  # rows of an MNIST-style NPZ subset (the issue: at most 5k rows)


def spiral(n_samples: int, classes: int, turns: float = 1.0, noise: float = 0.2) -> Arrays:
    """The Playground's interleaved spiral arms (as ``hone``'s ``spiral``, random_state 0)."""
    rng = np.random.default_rng(0)
    y = np.arange(n_samples) % classes
    r = rng.uniform(0.05, 1.0, n_samples)
    theta = 2 * np.pi * (turns * r + y / classes)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    x += rng.normal(0.0, noise * 0.1, x.shape)
    return x.astype(np.float32), y.astype(np.int64)


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        return np.frombuffer(fh.read(), dtype=np.uint8, offset=offset)


@functools.lru_cache(maxsize=2)
def mnist_subset(folder: str, rows: int = MNIST_ROWS) -> Arrays:
    """The first ``rows`` training images of an MNIST-style IDX folder, (N, 1, 28, 28) in [0, 1]."""
    base = Path(folder)
    images = _read_idx(base / "train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    labels = _read_idx(base / "train-labels-idx1-ubyte.gz", 8)
    x = images[:rows].astype(np.float32) / 255.0
    return x, labels[:rows].astype(np.int64)


@functools.lru_cache(maxsize=16)
def base_arrays(dataset: str, params_json: str, path: str = "") -> Arrays:
    """The arrays of one dataset as hone builds them; ``params_json`` is ``json.dumps(params)``
    (hashable, so the arrays are built once)."""
    from sklearn import datasets as sk

    params: dict[str, Any] = json.loads(params_json)
    if dataset == "moons":
        x, y = sk.make_moons(random_state=0, **params)
    elif dataset == "blobs":
        x, y = sk.make_blobs(**{"centers": 4, "n_features": 2, "random_state": 2, **params})
    elif dataset == "spiral":
        return spiral(**params)
    elif dataset == "digits":
        bunch = sk.load_digits()
        return (bunch.images / 16.0).astype(np.float32)[:, None], bunch.target.astype(np.int64)
    elif dataset == "classification":
        x, y = sk.make_classification(random_state=0, **params)
    elif dataset == "regression":
        x, y = sk.make_regression(random_state=0, **params)
        return x.astype(np.float32), ((y - y.mean()) / y.std()).astype(np.float32)
    elif dataset in ("mnist", "fashion_mnist"):
        return mnist_subset(path)
    else:
        raise ValueError(f"no arrays for dataset {dataset!r}")
    return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)


# ---- alterations: each takes the base arrays and returns (x, y, probe rows) ------------------


def _scaled(x: np.ndarray, y: np.ndarray, factor: float, **_: Any) -> tuple[Arrays, Arrays]:
    """Raw inputs multiplied by ``factor`` and shifted off zero: un-standardised features."""
    out = (x * factor + factor / 2).astype(np.float32)
    return (out, y), (out[:256], y[:256])


def _sorted(x: np.ndarray, y: np.ndarray, **_: Any) -> tuple[Arrays, Arrays]:
    """Rows in label (or target) order, so an unshuffled split sees different labels."""
    order = np.argsort(y, kind="stable")
    return (x[order], y[order]), (x[:256], y[:256])


def _noisy(x: np.ndarray, y: np.ndarray, flip: float, **_: Any) -> tuple[Arrays, Arrays]:
    """A share ``flip`` of the labels replaced by a different class, chosen at random."""
    rng = np.random.default_rng(7)
    classes = int(y.max()) + 1
    y = y.copy()
    hit = rng.random(len(y)) < flip
    y[hit] = (y[hit] + rng.integers(1, classes, int(hit.sum()))) % classes
    return (x, y), (x[:256], y[:256])


def _imbalanced(
    x: np.ndarray, y: np.ndarray, minority: float, label: int, noise: float, **_: Any
) -> tuple[Arrays, Arrays]:
    """Class ``label`` against all others, kept at a share ``minority``, with feature noise so
    the classes overlap; the minority rows left out are the probe (a fresh minority sample)."""
    rng = np.random.default_rng(11)
    scale = x.reshape(len(x), -1).std(0).mean()
    x = (x + rng.normal(0.0, noise * scale, x.shape)).astype(np.float32)
    pos = np.flatnonzero(y == label)
    neg = np.flatnonzero(y != label)
    k = max(4, round(minority / (1 - minority) * len(neg)))
    pos = rng.permutation(pos)
    kept, probe = pos[:k], pos[k:]
    rows = rng.permutation(np.concatenate([neg, kept]))
    binary = (y == label).astype(np.int64)
    return (x[rows], binary[rows]), (x[probe], binary[probe])


ALTERATIONS: dict[str, Callable[..., tuple[Arrays, Arrays]]] = {
    "scaled": _scaled,
    "sorted": _sorted,
    "noisy": _noisy,
    "imbalanced": _imbalanced,
}


@dataclass(frozen=True)
class DataRecipe:
    """An altered copy of a family's data: written on first use, named by its content."""

    dataset: str
    params_json: str
    path: str
    alteration: str
    options: dict[str, Any] = field(default_factory=dict, hash=False)
    fmt: str = "npz"  # npz, or csv for the CSV family

    def key(self) -> str:
        text = json.dumps(
            [self.dataset, self.params_json, self.path, self.alteration, self.options, self.fmt],
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def arrays(self) -> tuple[Arrays, Arrays]:
        """(the data hone trains on, probe rows for the truth checks)."""
        return derive(
            self.dataset,
            self.params_json,
            self.path,
            self.alteration,
            json.dumps(self.options, sort_keys=True),
        )

    def target(self, folder: Path) -> Path:
        return folder / f"{self.alteration}-{self.key()}.{self.fmt}"

    def write(self, folder: Path) -> Path:
        """Write the file (once: its name is its content's key)."""
        target = self.target(folder)
        if not target.exists():
            (x, y), _ = self.arrays()
            folder.mkdir(parents=True, exist_ok=True)
            if self.fmt == "csv":
                write_csv(target, x, y)
            else:
                np.savez(target, x=x, y=y)
        return target


@functools.lru_cache(maxsize=8)
def derive(
    dataset: str, params_json: str, path: str, alteration: str, options_json: str
) -> tuple[Arrays, Arrays]:
    x, y = base_arrays(dataset, params_json, path)
    return ALTERATIONS[alteration](x, y, **json.loads(options_json))


def write_csv(target: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """Features ``f0..fk`` and a ``label`` column (integers for classes, floats for targets)."""
    flat = x.reshape(len(x), -1)
    with target.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([f"f{i}" for i in range(flat.shape[1])] + ["label"])
        for row, label in zip(flat.tolist(), y.tolist(), strict=True):
            out.writerow([f"{v:.6g}" for v in row] + [label])
    return target
