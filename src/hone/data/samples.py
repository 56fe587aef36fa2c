"""scikit-learn's ``make_moons``, ``make_circles`` and ``make_blobs`` in NumPy alone.

Importing scikit-learn costs a fresh process ~0.6 s (it pulls in SciPy), more than a small
run trains. These draw exactly what scikit-learn draws (the same ``RandomState`` calls in the
same order, so the same arrays bit for bit; a test checks it against scikit-learn) for the
usual arguments: a whole ``n_samples`` (or a pair), numbers for the rest and an integer
``random_state``. Anything else (arrays of centres or deviations, ``random_state: null``, a
value scikit-learn refuses) goes to scikit-learn itself, which draws it or says what is wrong.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["make_blobs", "make_circles", "make_moons"]

Arrays = tuple[np.ndarray, np.ndarray]


def _whole(value: Any, low: int = 1) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= low


def _real(value: Any, low: float = 0.0) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value) >= low


def _halves(n_samples: Any) -> tuple[int, int] | None:
    """(outer, inner) counts, as scikit-learn splits ``n_samples``; ``None``: not plain."""
    if _whole(n_samples):
        return int(n_samples) // 2, int(n_samples) - int(n_samples) // 2
    pair = isinstance(n_samples, tuple | list) and len(n_samples) == 2
    if pair and all(_whole(n, 0) for n in n_samples) and sum(n_samples) >= 1:
        return int(n_samples[0]), int(n_samples[1])
    return None


def _plain_state(random_state: Any) -> bool:
    return _whole(random_state, 0) and random_state < 2**32


def _sklearn(name: str, **kwargs: Any) -> Arrays:
    from sklearn import datasets  # the unusual arguments: scikit-learn draws or refuses them

    x, y = getattr(datasets, name)(**kwargs)
    return x, y


def _finish(x: np.ndarray, y: np.ndarray, shuffle: bool, noise: float | None,
            rng: np.random.RandomState) -> Arrays:  # fmt: skip
    """Shuffle (``sklearn.utils.shuffle``: a permutation of the row indices), then noise."""
    if shuffle:
        order = np.arange(len(x))
        rng.shuffle(order)
        x, y = x[order], y[order]
    if noise is not None:
        x += rng.normal(scale=noise, size=x.shape)
    return x, y


def _labels(outer: int, inner: int) -> np.ndarray:
    return np.hstack([np.zeros(outer, dtype=np.intp), np.ones(inner, dtype=np.intp)])


def make_moons(
    n_samples: Any = 100, *, shuffle: bool = True, noise: float | None = None,
    random_state: Any = None,
) -> Arrays:  # fmt: skip
    """Two interleaving half circles (``sklearn.datasets.make_moons``)."""
    counts = _halves(n_samples)
    plain = isinstance(shuffle, bool) and (noise is None or _real(noise))
    if counts is None or not plain or not _plain_state(random_state):
        return _sklearn("make_moons", n_samples=n_samples, shuffle=shuffle, noise=noise,
                        random_state=random_state)  # fmt: skip
    outer, inner = counts
    rng = np.random.RandomState(random_state)
    x = np.vstack([
        np.append(np.cos(np.linspace(0, np.pi, outer)), 1 - np.cos(np.linspace(0, np.pi, inner))),
        np.append(np.sin(np.linspace(0, np.pi, outer)),
                  1 - np.sin(np.linspace(0, np.pi, inner)) - 0.5),
    ]).T  # fmt: skip
    return _finish(x, _labels(outer, inner), shuffle, noise, rng)


def make_circles(
    n_samples: Any = 100, *, shuffle: bool = True, noise: float | None = None,
    random_state: Any = None, factor: float = 0.8,
) -> Arrays:  # fmt: skip
    """A large circle containing a smaller one (``sklearn.datasets.make_circles``)."""
    counts = _halves(n_samples)
    plain = isinstance(shuffle, bool) and (noise is None or _real(noise))
    plain = plain and _real(factor) and factor < 1
    if counts is None or not plain or not _plain_state(random_state):
        return _sklearn("make_circles", n_samples=n_samples, shuffle=shuffle, noise=noise,
                        random_state=random_state, factor=factor)  # fmt: skip
    outer, inner = counts
    rng = np.random.RandomState(random_state)
    around_out = np.linspace(0, 2 * np.pi, outer, endpoint=False)
    around_in = np.linspace(0, 2 * np.pi, inner, endpoint=False)
    x = np.vstack([
        np.append(np.cos(around_out), np.cos(around_in) * factor),
        np.append(np.sin(around_out), np.sin(around_in) * factor),
    ]).T  # fmt: skip
    return _finish(x, _labels(outer, inner), shuffle, noise, rng)


def make_blobs(
    n_samples: Any = 100, n_features: Any = 2, *, centers: Any = None, cluster_std: Any = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0), shuffle: bool = True,
    random_state: Any = None,
) -> Arrays:  # fmt: skip
    """Gaussian blobs around random centres (``sklearn.datasets.make_blobs``)."""
    n_centers = 3 if centers is None else centers
    box = isinstance(center_box, tuple) and len(center_box) == 2
    plain = _whole(n_samples) and _whole(n_features) and _whole(n_centers) and box
    plain = plain and _real(cluster_std) and isinstance(shuffle, bool)
    if not plain or not all(_real(b, -np.inf) for b in center_box):
        plain = False
    if not plain or not _plain_state(random_state):
        return _sklearn("make_blobs", n_samples=n_samples, n_features=n_features,
                        centers=centers, cluster_std=cluster_std, center_box=center_box,
                        shuffle=shuffle, random_state=random_state)  # fmt: skip
    rng = np.random.RandomState(random_state)
    where = rng.uniform(center_box[0], center_box[1], size=(n_centers, n_features))
    counts = [n_samples // n_centers + (1 if i < n_samples % n_centers else 0)
              for i in range(n_centers)]  # fmt: skip
    x = np.empty((n_samples, n_features), dtype=np.float64)
    y = np.empty((n_samples,), dtype=int)
    start = 0
    for i, n in enumerate(counts):
        x[start : start + n] = rng.normal(loc=where[i], scale=cluster_std, size=(n, n_features))
        y[start : start + n] = i
        start += n
    return _finish(x, y, shuffle, None, rng)
