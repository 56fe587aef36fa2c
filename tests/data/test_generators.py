from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from hone.data.generators import generate
from hone.errors import ConfigError


def test_blobs_match_scikit_learn_exactly() -> None:
    raw = generate("blobs", {})
    x, y = make_blobs(n_samples=1000, centers=4, n_features=2, cluster_std=2, random_state=2)
    np.testing.assert_allclose(raw.x, x.astype(np.float32))
    np.testing.assert_array_equal(raw.y, y)
    assert raw.classes == ["0", "1", "2", "3"]


@pytest.mark.parametrize("name", ["blobs", "moons", "circles", "spiral", "xor", "digits"])
def test_every_generator_gives_labelled_float_data(name: str) -> None:
    raw = generate(name, {})
    assert raw.x.dtype == np.float32 and raw.y.dtype == np.int64
    assert len(raw.x) == len(raw.y) > 100
    assert set(np.unique(raw.y)) == set(range(len(raw.classes)))
    assert np.isfinite(raw.x).all()


def test_spiral_classes_and_determinism() -> None:
    a, b = (
        generate("spiral", {"classes": 3, "n_samples": 300}),
        generate("spiral", {"classes": 3, "n_samples": 300}),
    )
    np.testing.assert_array_equal(a.x, b.x)
    assert np.bincount(a.y).tolist() == [100, 100, 100]


def test_xor_labels_follow_quadrants() -> None:
    raw = generate("xor", {"noise": 0.0})
    assert np.array_equal(raw.y, (raw.x[:, 0] * raw.x[:, 1] < 0).astype(np.int64))


def test_digits_keep_image_shape() -> None:
    raw = generate("digits", {})
    assert raw.x.shape == (1797, 1, 8, 8) and raw.x.min() >= 0.0 and raw.x.max() <= 1.0


def test_unknown_parameter_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"data\.params\.centres.*did you mean 'centers'"):
        generate("blobs", {"centres": 3})
