"""Real tiny training runs, each designed to produce one condition (shared by tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def imbalanced_npz(folder: Path, minority: float = 0.05, n: int = 1000) -> str:
    """Two overlapping Gaussians, 95/5: a model can score 95 % by never predicting class 1."""
    rng = np.random.default_rng(0)
    n1 = int(n * minority)
    x = np.concatenate([rng.normal(0, 1, (n - n1, 2)), rng.normal(0.7, 1, (n1, 2))]).astype(
        np.float32
    )
    y = np.array([0] * (n - n1) + [1] * n1)
    path = folder / "imbalanced.npz"
    np.savez(path, x=x, y=y)
    return str(path)


def sorted_npz(folder: Path) -> str:
    """Three classes stored in label order: unshuffled splits see different classes."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(c * 3, 1, (200, 2)) for c in range(3)]).astype(np.float32)
    y = np.repeat(np.arange(3), 200)
    path = folder / "sorted.npz"
    np.savez(path, x=x, y=y)
    return str(path)


def scenarios(folder: Path) -> dict[str, tuple[dict[str, Any], set[str]]]:
    """name -> (config, codes that must fire)."""
    return {
        "overfitting": (
            {
                "data": {
                    "dataset": "moons",
                    "params": {"n_samples": 100, "noise": 0.4},
                    "split": "6:2:2",
                },
                "model": {"hidden": [256, 256], "activation": "leaky_relu"},
                "train": {
                    "optimizer": {"name": "adam", "lr": 0.01},
                    "epochs": 200,
                    "batch_size": 16,
                },
            },
            {"overfitting"},
        ),
        "underfitting": (
            {
                "data": {"dataset": "spiral", "params": {"n_samples": 600}, "split": "6:2:2"},
                "model": {"hidden": [1], "activation": "tanh"},
                "train": {"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 60},
            },
            {"underfitting"},
        ),
        "lr_too_high": (
            {
                "data": {"dataset": "blobs", "split": "6:2:2"},
                "model": {"hidden": [32]},
                "train": {"optimizer": {"name": "sgd", "lr": 10.0}, "epochs": 20},
            },
            {"lr_too_high"},
        ),
        "lr_too_low": (
            {
                "data": {"dataset": "blobs", "split": "8:2"},
                "model": {"hidden": [32]},
                "train": {"optimizer": {"name": "sgd", "lr": 0.00003}, "epochs": 30},
            },
            {"lr_too_low"},
        ),
        "vanishing": (
            {
                "data": {"dataset": "blobs", "split": "6:2:2"},
                "model": {"hidden": [32] * 10, "activation": "sigmoid"},
                "train": {"optimizer": {"name": "sgd", "lr": 0.1}, "epochs": 10},
            },
            {"vanishing_gradients"},
        ),
        "saturation": (
            {
                "data": {"dataset": "blobs", "split": "6:2:2"},
                "model": {"hidden": [32] * 10, "activation": "sigmoid", "init": "normal"},
                "train": {"optimizer": {"name": "sgd", "lr": 0.1}, "epochs": 10},
            },
            {"saturation"},
        ),
        "zeros_init": (
            {
                "data": {"dataset": "blobs", "split": "6:2:2"},
                "model": {"hidden": [32, 32], "activation": "tanh", "init": "zeros"},
                "train": {"optimizer": {"name": "sgd", "lr": 0.1}, "epochs": 10},
            },
            {"bad_init"},
        ),
        "dead_units": (
            {
                "data": {"dataset": "blobs", "split": "6:2:2"},
                "model": {"hidden": [64, 64], "bias_init": "constant", "init_value": -3.0},
                "train": {"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 10},
            },
            {"dead_units"},
        ),
        "imbalanced": (
            {
                "data": {"dataset": "npz", "path": imbalanced_npz(folder), "split": "6:2:2"},
                "model": {"hidden": [16]},
                "train": {"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 30},
            },
            {"misleading_accuracy"},
        ),
        "split_mismatch": (
            {
                "data": {
                    "dataset": "npz",
                    "path": sorted_npz(folder),
                    "split": {"train": 0.6, "val": 0.2, "test": 0.2, "shuffle": False},
                },
                "model": {"hidden": [16]},
                "train": {"optimizer": {"name": "adam", "lr": 0.01}, "epochs": 10},
            },
            {"split_mismatch"},
        ),
        "healthy": (
            {
                "data": {
                    "dataset": "moons",
                    "params": {"n_samples": 1000, "noise": 0.15},
                    "split": "6:2:2",
                },
                "model": {"hidden": [32, 32]},
                "train": {
                    "optimizer": {"name": "adam", "lr": 0.01},
                    "epochs": 60,
                    "early_stopping": {"patience": 8},
                },
            },
            {"healthy"},
        ),
    }
