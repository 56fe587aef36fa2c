from __future__ import annotations

import numpy as np
import pytest
import torch

from hone.config import SplitConfig, load_config
from hone.data import load_data
from hone.data.split import resolve_ratios, split_indices, validation_from_training
from hone.errors import ConfigError


def test_unshuffled_split_is_first_rows_then_last_rows() -> None:
    y = np.zeros(1000, dtype=np.int64)
    tr, va, te = split_indices(y, (0.8, 0.0, 0.2), stratify=False, shuffle=False, seed=0)
    assert (
        tr.tolist() == list(range(800)) and te.tolist() == list(range(800, 1000)) and len(va) == 0
    )


def test_stratified_split_is_disjoint_complete_and_proportional() -> None:
    y = np.array([0] * 900 + [1] * 100)
    tr, va, te = split_indices(y, (0.6, 0.2, 0.2), stratify=True, shuffle=True, seed=3)
    assert len(tr) + len(va) + len(te) == 1000
    assert len(np.intersect1d(tr, te)) == 0 and len(np.intersect1d(va, te)) == 0
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(1000))
    assert (len(tr), len(va), len(te)) == (600, 200, 200)
    assert np.bincount(y[te]).tolist() == [180, 20] and np.bincount(y[va]).tolist() == [180, 20]


def test_split_depends_on_split_seed_only() -> None:
    y = np.arange(100) % 4
    a = split_indices(y, (0.8, 0.0, 0.2), True, True, seed=0)[2]
    b = split_indices(y, (0.8, 0.0, 0.2), True, True, seed=0)[2]
    c = split_indices(y, (0.8, 0.0, 0.2), True, True, seed=1)[2]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_resolve_ratios() -> None:
    assert resolve_ratios(SplitConfig(), False, "blobs") == pytest.approx((0.8, 0.0, 0.2))
    assert resolve_ratios(SplitConfig(train=0.7, val=0.1), False, "x") == pytest.approx(
        (0.7, 0.1, 0.2)
    )
    assert resolve_ratios(SplitConfig(), True, "mnist") == pytest.approx((0.9, 0.1, 0.0))
    assert resolve_ratios(SplitConfig(train=0.8), True, "mnist") == pytest.approx((0.8, 0.2, 0.0))
    # val: 0 alone trains on all 60,000 images (it once left 10 % unused, as if val were unset)
    assert resolve_ratios(SplitConfig(val=0.0), True, "mnist") == pytest.approx((1.0, 0.0, 0.0))
    with pytest.raises(ConfigError, match=r"data\.split\.test.*official"):
        resolve_ratios(SplitConfig(test=0.2), True, "mnist")
    with pytest.raises(ConfigError, match="no rows left for the test"):
        resolve_ratios(SplitConfig(train=0.8, val=0.2), False, "blobs")


@pytest.mark.parametrize(
    ("dataset", "split", "expected"),
    [("moons", "8:0:2", {"train": 0.64, "val": 0.16, "test": 0.2}),
     ("moons", {"train": 0.5, "test": 0.5}, {"train": 0.4, "val": 0.1, "test": 0.5}),
     ("mnist", {"train": 1.0, "val": 0.0}, {"train": 0.8, "val": 0.2}),  # its own test set
     ("mnist", {"train": 0.05}, {"train": 0.04, "val": 0.01})],
)  # fmt: skip
def test_validation_held_back_from_the_training_rows(
    dataset: str, split: object, expected: dict[str, float]
) -> None:
    """A run without a validation split is probed on a share of its training rows; its test
    split stays as it was."""
    cfg = load_config({"data": {"dataset": dataset, "split": split}}).data
    assert validation_from_training(cfg, 0.2) == pytest.approx(expected)
    if dataset == "moons":  # the same test rows, and the rest of train and val are the run's
        run = load_data(cfg)
        held = load_data(
            load_config(
                {"data": {"dataset": dataset, "split": validation_from_training(cfg, 0.2)}}
            ).data
        )
        assert held.val is not None and run.val is None
        assert torch.equal(held.test.x, run.test.x)
        assert len(held.train) + len(held.val) == len(run.train)


def test_scaling_is_fitted_on_train_only() -> None:
    cfg = load_config(
        {"data": {"dataset": "blobs", "split": "6:2:2", "preprocess": {"scale": "standard"}}}
    )
    data = load_data(cfg.data)
    assert data.train.x.mean(0).abs().max() < 1e-5
    assert (data.train.x.std(0, unbiased=False) - 1).abs().max() < 1e-4
    assert data.test.x.mean(0).abs().max() > 1e-3  # test stats are not forced to 0
    minmax = load_data(load_config({"data": {"preprocess": {"scale": "minmax"}}}).data)
    assert float(minmax.train.x.min()) == 0.0 and float(minmax.train.x.max()) == 1.0
