from __future__ import annotations

import numpy as np

from hone.config import load_config
from hone.experiments.lr_find import lr_find, suggest


def test_suggestion_on_a_known_noisy_curve() -> None:
    """A loss that falls fastest around lr = 1e-2, with noise, then explodes."""
    rng = np.random.default_rng(0)
    lrs = list(np.logspace(-6, 1, 300))
    x = np.log10(lrs)
    loss = 2.0 - 1.5 / (1 + np.exp(-3 * (x + 2))) + np.where(x > -0.5, (x + 0.5) ** 2 * 4, 0)
    noisy = loss + rng.normal(0, 0.02, len(x))
    smooth = list(np.convolve(noisy, np.ones(9) / 9, mode="same"))
    steepest, min10 = suggest(lrs, smooth)
    assert steepest is not None and 10**-2.6 < steepest < 10**-1.4
    assert min10 is not None and min10 < 1.0


def test_repeatable_and_sensible_on_moons() -> None:
    cfg = load_config(
        {
            "data": {"dataset": "moons", "split": "6:2:2", "preprocess": {"scale": "standard"}},
            "model": {"hidden": [32, 32]},
            "train": {"optimizer": {"name": "sgd"}},
        }
    )
    a, b = lr_find(cfg, steps=150), lr_find(cfg, steps=150)
    assert a.losses == b.losses and a.steepest == b.steepest
    assert a.steepest is not None and 1e-4 < a.steepest < 5
    assert a.min_over_10 is not None and a.min_over_10 < 5
    assert a.lrs[0] == 1e-7 and a.lrs == sorted(a.lrs)
