"""Synthetic and bundled datasets: scikit-learn's generators (moons, circles and blobs drawn
in NumPy as scikit-learn draws them, ``hone.data.samples``), the Playground's spiral and xor,
and scikit-learn's offline ``digits``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from hone.data import samples
from hone.data.base import RawData
from hone.errors import ConfigError, suggest

__all__ = ["GENERATORS", "generate", "spiral", "xor"]


def spiral(
    n_samples: int = 1000,
    classes: int = 2,
    turns: float = 1.0,
    noise: float = 0.2,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (TensorFlow Playground's hardest dataset)."""
    rng = np.random.default_rng(random_state)
    y = np.arange(n_samples) % classes
    r = rng.uniform(0.05, 1.0, n_samples)
    theta = 2 * np.pi * (turns * r + y / classes)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    x += rng.normal(0.0, noise * 0.1, x.shape)
    return x.astype(np.float32), y


def regression(
    n_samples: int = 1000,
    n_features: int = 4,
    n_informative: int = 4,
    noise: float = 10.0,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``make_regression`` with the target standardised (mean 0, std 1)."""
    from sklearn.datasets import make_regression

    x, y = make_regression(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_informative,
        noise=noise,
        random_state=random_state,
    )
    y = (y - y.mean()) / y.std()
    return x.astype(np.float32), y.astype(np.float32)


def xor(
    n_samples: int = 1000, noise: float = 0.1, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-1, 1]^2 labelled by the sign of x0*x1 (class 1 where the signs differ)."""
    rng = np.random.default_rng(random_state)
    x = rng.uniform(-1.0, 1.0, (n_samples, 2))
    y = (x[:, 0] * x[:, 1] < 0).astype(np.int64)
    x += rng.normal(0.0, noise, x.shape)
    return x.astype(np.float32), y


# name -> (resolver of the generator function, defaults). Defaults fix random_state so every
# training seed sees the same data: seeds vary the model, not the dataset (paired comparisons).
GENERATORS: dict[str, tuple[Callable[[], Callable[..., Any]], dict[str, Any]]] = {
    "blobs": (
        lambda: samples.make_blobs,
        {"n_samples": 1000, "centers": 4, "n_features": 2, "cluster_std": 2.0, "random_state": 2},
    ),
    "moons": (lambda: samples.make_moons, {"n_samples": 1000, "noise": 0.2, "random_state": 0}),
    "circles": (
        lambda: samples.make_circles,
        {"n_samples": 1000, "noise": 0.1, "factor": 0.5, "random_state": 0},
    ),
    "spiral": (lambda: spiral, {}),
    "xor": (lambda: xor, {}),
    "regression": (lambda: regression, {}),
}


def generate(name: str, params: dict[str, Any]) -> RawData:
    if name == "digits":
        return _digits(params)
    resolve, defaults = GENERATORS[name]
    fn = resolve()
    accepted = [p for p in inspect.signature(fn).parameters if p not in ("return_centers",)]
    for key in params:
        if key not in accepted:
            raise ConfigError(
                f"data.params.{key}: '{name}' has no parameter '{key}'{suggest(key, accepted)}; "
                f"valid: {', '.join(accepted)}"
            )
    signature = inspect.signature(fn).parameters
    # YAML has lists, not tuples: give tuple-valued arguments (center_box) what they expect.
    args = {
        k: tuple(v) if isinstance(v, list) and isinstance(signature[k].default, tuple) else v
        for k, v in {**defaults, **params}.items()
    }
    try:
        x, y = fn(**args)
    except (TypeError, ValueError, OverflowError, MemoryError, IndexError) as exc:
        raise ConfigError(f"data.params: {name}: {str(exc)[:200]}") from None
    if len(x) == 0:
        raise ConfigError(f"data.params: {name} produced no rows; set n_samples > 0")
    if name == "regression":
        return RawData(np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32), [])
    y = np.asarray(y, dtype=np.int64)
    return RawData(np.asarray(x, dtype=np.float32), y, [str(c) for c in range(int(y.max()) + 1)])


def _digits(params: dict[str, Any]) -> RawData:
    if params:
        raise ConfigError(f"data.params: 'digits' takes no parameters, got {sorted(params)}")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]  # (N, 1, 8, 8) in [0, 1]
    return RawData(x, bunch.target.astype(np.int64), [str(c) for c in range(10)])
