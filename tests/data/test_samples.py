"""moons, circles and blobs drawn in NumPy are scikit-learn's arrays, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import datasets

from hone.data import samples
from hone.data.generators import generate

CASES: list[tuple[str, dict[str, Any]]] = [
    ("make_moons", {"n_samples": 1000, "noise": 0.25, "random_state": 0}),
    ("make_moons", {"n_samples": 7, "noise": 0.0, "random_state": 3}),
    ("make_moons", {"n_samples": 1, "random_state": 1}),
    ("make_moons", {"n_samples": (3, 9), "noise": 0.1, "random_state": 5}),
    ("make_moons", {"n_samples": 50, "shuffle": False, "noise": 0.2, "random_state": 2**32 - 1}),
    ("make_circles", {"n_samples": 1000, "noise": 0.1, "factor": 0.5, "random_state": 0}),
    ("make_circles", {"n_samples": 11, "factor": 0.0, "random_state": 4}),
    ("make_circles", {"n_samples": (0, 6), "shuffle": False, "random_state": 9}),
    (
        "make_blobs",
        {"n_samples": 1000, "centers": 4, "n_features": 2, "cluster_std": 2, "random_state": 2},
    ),
    ("make_blobs", {"n_samples": 101, "n_features": 5, "cluster_std": 0.5, "random_state": 7}),
    ("make_blobs", {"n_samples": 10, "centers": 7, "center_box": (0.0, 1.0), "random_state": 1}),
    ("make_blobs", {"n_samples": 40, "centers": 3, "shuffle": False, "random_state": 0}),
    # Not drawn here: scikit-learn draws them (arrays of centres and deviations).
    ("make_blobs", {"n_samples": [5, 9], "centers": [[0, 0], [3, 3]], "random_state": 1}),
    ("make_blobs", {"n_samples": 30, "cluster_std": [1.0, 2.0, 0.5], "random_state": 1}),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_the_same_arrays_as_scikit_learn(name: str, kwargs: dict[str, Any]) -> None:
    x, y = getattr(samples, name)(**kwargs)
    ref_x, ref_y = getattr(datasets, name)(**kwargs)
    assert x.dtype == ref_x.dtype and y.dtype == ref_y.dtype
    assert np.array_equal(x, ref_x) and np.array_equal(y, ref_y)


def test_the_same_signature_as_scikit_learn() -> None:
    """The names a config's ``data.params`` may use (and the errors that list them)."""
    import inspect

    for name in ("make_moons", "make_circles", "make_blobs"):
        ours = inspect.signature(getattr(samples, name)).parameters
        theirs = inspect.signature(getattr(datasets, name)).parameters
        assert {k: p.default for k, p in ours.items()} == {
            k: p.default for k, p in theirs.items() if k != "return_centers"
        }


@pytest.mark.parametrize("params", [{"noise": -1.0}, {"n_samples": 0}, {"n_samples": 2.5}])
def test_what_scikit_learn_refuses_is_still_refused(params: dict[str, Any]) -> None:
    from hone.errors import ConfigError

    with pytest.raises(ConfigError, match=r"data\.params"):
        generate("moons", params)


def test_a_moons_run_imports_no_scikit_learn_and_no_dynamo(tmp_path: Any) -> None:
    import subprocess
    import sys

    code = (
        "import sys, hone\n"
        f"hone.run('examples/moons.yaml', store={str(tmp_path)!r}, **{{'train.epochs': 2}})\n"
        "assert 'sklearn' not in sys.modules, 'sklearn'\n"
        "assert 'scipy' not in sys.modules, 'scipy'\n"
        "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
