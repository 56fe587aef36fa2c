"""Train/val/test splitting. The test split is carved off first and never seen by training."""

from __future__ import annotations

import numpy as np

from hone.config import DataConfig, SplitConfig
from hone.data.idx import DATASETS as OFFICIAL_TEST
from hone.errors import ConfigError

__all__ = ["resolve_ratios", "split_indices", "validation_from_training"]


def resolve_ratios(
    split: SplitConfig, fixed_test: bool, dataset: str
) -> tuple[float, float, float]:
    """Fill in unset fractions. With a fixed (official) test set, train+val divide the rest."""
    if fixed_test:
        if split.test is not None:
            raise ConfigError(
                f"data.split.test: {dataset} keeps its official 10,000-image test set; "
                "remove split.test (split.train/val divide the 60,000 training images)"
            )
        val_share = split.val if split.val is not None else 0.1  # val: 0 trains on all
        train = split.train if split.train is not None else 1.0 - val_share
        val = split.val if split.val is not None else 1.0 - train
        return train, val, 0.0
    val = split.val if split.val is not None else 0.0
    if split.train is None:
        test = split.test if split.test is not None else 0.2
        train = 1.0 - val - test
    else:
        train = split.train
        test = split.test if split.test is not None else 1.0 - train - val
    if test <= 0:
        raise ConfigError("data.split: no rows left for the test split; give split.test > 0")
    return train, val, test


def validation_from_training(data: DataConfig, share: float) -> dict[str, float]:
    """``data.split`` with ``share`` of its training rows held back for validation and the
    test split as it was: how a run without a validation split is probed (its probes
    train on the other rows and are compared on these)."""
    fixed_test = data.dataset in OFFICIAL_TEST
    train, _, test = resolve_ratios(data.split, fixed_test, data.dataset)
    split = {"train": round(train * (1 - share), 6), "val": round(train * share, 6)}
    if not fixed_test and abs(train + test - 1) < 1e-6:  # the run's test rows (cut first)
        split["test"] = 1 - split["train"] - split["val"]
    # (rows the run left out of every split: the test split takes them, never training)
    return split


def _cut(
    idx: np.ndarray, y: np.ndarray, frac: float, stratify: bool, shuffle: bool, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` into (rest, part) with ``part`` holding ``frac`` of it.

    Unshuffled, ``part`` is the tail (the textbook's "last 200 rows"). Stratified, each class
    contributes its share, rounded by largest remainder so the total is exact.
    """
    n_part = round(frac * len(idx))
    if n_part == 0:
        return idx, idx[:0]
    if n_part >= len(idx):
        raise ConfigError(f"data.split: fraction {frac:g} leaves no training rows")
    if not shuffle:
        return idx[:-n_part], idx[-n_part:]
    rng = np.random.default_rng(seed)
    idx = rng.permutation(idx)
    if not stratify:
        return np.sort(idx[n_part:]), np.sort(idx[:n_part])
    labels = y[idx]
    classes, counts = np.unique(labels, return_counts=True)
    share = counts * (n_part / len(idx))
    take = np.floor(share).astype(int)
    for c in np.argsort(-(share - take), kind="stable")[: n_part - take.sum()]:
        take[c] += 1
    part = np.concatenate([idx[labels == c][:k] for c, k in zip(classes, take, strict=True)])
    rest = np.setdiff1d(idx, part)
    return np.sort(rest), np.sort(part)


def split_indices(
    y: np.ndarray, ratios: tuple[float, float, float], stratify: bool, shuffle: bool, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices for (train, val, test); ``shuffle: false`` keeps order: train first, test last.

    With a fixed test set (ratios summing to less than 1), rows beyond train + val are left
    out, so ``split.train`` is honoured as asked (e.g. 1,000 of MNIST's 60,000 images).
    """
    train_frac, val_frac, test_frac = ratios
    n = len(y)
    idx = np.arange(n)
    rest, test = _cut(idx, y, test_frac, stratify, shuffle, seed)
    val_of_rest = val_frac / (1.0 - test_frac) if test_frac < 1 else 0.0
    train, val = _cut(rest, y, val_of_rest, stratify, shuffle, seed + 1)
    n_train = round(train_frac * n)
    if 0 < n_train < len(train):
        _, train = _cut(train, y, n_train / len(train), stratify, shuffle, seed + 2)
    return train, val, test
