from __future__ import annotations

from pathlib import Path

import pytest
import torch

import hone
from hone.config import AugmentConfig
from hone.data.augment import Augmenter
from hone.errors import ConfigError

SHAPE = (1, 8, 8)


def augmenter(seed: int = 0, **cfg: object) -> Augmenter:
    return Augmenter(AugmentConfig(**cfg), SHAPE, seed, torch.device("cpu"))  # type: ignore[arg-type]


def images(n: int = 64) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


ALL = {
    "hflip": True,
    "vflip": True,
    "rotate": 15,
    "translate": 0.1,
    "scale": 0.1,
    "crop_padding": 2,
    "brightness": 0.1,
    "noise": 0.05,
}


def test_shapes_and_determinism_under_a_seed() -> None:
    x = images()
    a, b, c = augmenter(**ALL)(x), augmenter(**ALL)(x), augmenter(seed=1, **ALL)(x)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_flips_are_exact_mirror_images() -> None:
    x = images()
    out = augmenter(hflip=True)(x)
    flipped = torch.tensor([torch.equal(o, xi.flip(2)) for o, xi in zip(out, x, strict=True)])
    same = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x, strict=True)])
    assert bool((flipped | same).all()) and 10 < int(flipped.sum()) < 54


def test_random_crop_is_an_integer_shift_with_zero_fill() -> None:
    x = torch.ones(32, *SHAPE)
    out = augmenter(crop_padding=2)(x)
    for img in out[:, 0]:
        rows = img.sum(1) > 0
        cols = img.sum(0) > 0
        assert int(rows.sum()) >= 6 and int(cols.sum()) >= 6  # at most 2 px shifted out
        assert set(img.unique().tolist()) <= {0.0, 1.0}


def test_zero_rotation_is_identity() -> None:
    x = images()
    assert torch.allclose(augmenter(rotate=0.0, translate=0.0, scale=0.0)(x), x)
    assert torch.allclose(augmenter(rotate=1e-6)(x), x, atol=1e-4)


def test_image_transforms_need_images() -> None:
    with pytest.raises(ConfigError, match="need image data"):
        Augmenter(AugmentConfig(hflip=True), (2,), 0, torch.device("cpu"))
    Augmenter(AugmentConfig(noise=0.1), (2,), 0, torch.device("cpu"))  # noise works on tables


def test_only_training_batches_are_augmented(tmp_path: Path) -> None:
    """Labels and val/test tensors are untouched; the augmenter sees training batches only."""
    seen: list[int] = []
    original = Augmenter.__call__

    class Counting(Augmenter):
        def __call__(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x.shape[0])
            return original(self, x)

    from hone import api

    cfg = hone.load_config(
        {
            "data": {"dataset": "digits", "split": "6:2:2"},
            "model": {"hidden": [16]},
            "train": {"epochs": 2, "batch_size": 100, "augment": {"hflip": True, "noise": 0.1}},
        }
    )
    built = api.build_run(cfg)
    before = {
        k: (s.x.clone(), s.y.clone())
        for k, s in (
            ("train", built.data.train),
            ("val", built.data.val),
            ("test", built.data.test),
        )
    }
    assert built.augment is not None
    built.augment.__class__ = Counting
    built.fit()
    n_train = len(built.data.train)
    assert sum(seen) == 2 * n_train  # every training row, twice; never a val/test row
    for name, split in (
        ("train", built.data.train),
        ("val", built.data.val),
        ("test", built.data.test),
    ):
        assert split is not None
        assert torch.equal(split.x, before[name][0]) and torch.equal(split.y, before[name][1])
