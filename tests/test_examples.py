"""Every example config validates; the small ones train and show what they describe."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import hone
from hone.config import load_config
from tests.conftest import DATASETS

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
NOT_CONFIGS = ("ladder.yaml", "space.yaml")  # a patch list and a search space
EXAMPLES = sorted(p for p in EXAMPLES_DIR.rglob("*.yaml") if p.name not in NOT_CONFIGS)
LADDER = sorted((EXAMPLES_DIR / "mnist_book_ladder").glob("[0-9]_*.yaml"))
SMALL = [
    p
    for p in EXAMPLES
    if not str(p.relative_to(EXAMPLES_DIR)).startswith(("mnist", "image_folder"))
]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(EXAMPLES_DIR)))
def test_example_validates(path: Path) -> None:
    load_config(path)


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.name)
def test_small_example_trains(tmp_path: Path, path: Path) -> None:
    result = hone.run(path, store=str(tmp_path), **{"train.epochs": 8})
    assert result.status == "completed"
    if path.name == "bad_init.yaml":
        assert result.model is not None
        w = result.model.hidden1.dense.weight.detach()
        assert torch.allclose(w, w[0].expand_as(w))  # the documented failure
    elif path.name != "ensemble.yaml":
        losses = result.history["train_loss"]
        assert losses[-1] < losses[0]


def test_ladder_has_the_five_book_steps() -> None:
    cfgs = [load_config(p) for p in LADDER]
    assert [c.model.activation for c in cfgs] == [
        "sigmoid",
        "sigmoid",
        "leaky_relu",
        "leaky_relu",
        "leaky_relu",
    ]
    assert [c.train.loss for c in cfgs] == ["mse", "bce", "bce", "bce", "bce"]
    assert [c.train.optimizer.name for c in cfgs] == ["sgd", "sgd", "sgd", "adam", "adam"]
    assert [c.model.norm for c in cfgs] == ["none"] * 4 + ["layer"]
    assert all(c.model.hidden == [200] and c.train.epochs == 3 for c in cfgs)
    assert cfgs[2].model.negative_slope == 0.02


@pytest.mark.slow
def test_ladder_at_batch_128_climbs(tmp_path: Path, datasets: Path) -> None:
    accs = []
    for path in (LADDER[0], LADDER[-1]):
        result = hone.run(
            path,
            store=str(tmp_path),
            **{"train.batch_size": 128, "data.path": str(datasets / "mnist")},
        )
        accs.append(result.metrics["test_accuracy"])
    assert accs[1] >= 0.97 and accs[0] < accs[1]
    assert DATASETS.exists()


def test_image_folder_walkthrough(tmp_path: Path) -> None:
    """The README's image-folder walk-through, with images rendered by its own script."""
    import subprocess
    import sys

    images = tmp_path / "images"
    subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / "image_folder" / "make_images.py"), str(images)],
        check=True,
        capture_output=True,
    )
    result = hone.run(
        EXAMPLES_DIR / "image_folder" / "config.yaml",
        store=str(tmp_path / "store"),
        **{"data.path": str(images), "train.epochs": 3},
    )
    assert result.status == "completed" and result.metrics["test_accuracy"] > 0.8
    assert result.notes["data"]["skipped_images"] == 1  # the deliberately broken file


def test_book_ladder_experiment_file() -> None:
    from hone.experiments.variants import from_file

    variants, is_ladder = from_file(
        load_config(LADDER[0]), EXAMPLES_DIR / "mnist_book_ladder" / "ladder.yaml"
    )
    assert is_ladder and len(variants) == 5
    final = load_config(LADDER[0], variants[-1].patch)
    assert final.model_dump() == load_config(LADDER[-1]).model_dump() | {"name": final.name}


def test_the_example_search_space_fits_the_moons_config() -> None:
    from hone.config import load_config
    from hone.experiments.tune import load_space

    specs = load_space(EXAMPLES_DIR / "space.yaml", load_config(EXAMPLES_DIR / "moons.yaml"))
    assert {s.key for s in specs} >= {"train.optimizer.lr", "model.hidden"}
