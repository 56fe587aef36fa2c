"""Image folders rendered from scikit-learn's digits: sizes differ, some are RGB."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from hone.config import load_config
from hone.data import load_data
from hone.data.images import ImageFolder, load_image_folder, to_array
from hone.errors import DataError


def render(
    root: Path, per_class: int = 12, classes: tuple[int, ...] = (0, 1, 2), start: int = 0
) -> Path:
    digits = load_digits()
    for c in classes:
        (root / str(c)).mkdir(parents=True, exist_ok=True)
        idx = np.flatnonzero(digits.target == c)[start : start + per_class]
        for k, i in enumerate(idx):
            img = Image.fromarray((digits.images[i] / 16 * 255).astype(np.uint8))
            size = (16, 16) if k % 2 else (24, 20)  # different sizes
            img = img.resize(size)
            if k % 3 == 0:
                img = img.convert("RGB")  # and some colour images
            img.save(root / str(c) / f"{k}.png")
    return root


def config(root: Path, **pre: object) -> object:
    return load_config(
        {
            "data": {
                "dataset": "image_folder",
                "path": str(root),
                "split": "6:2:2",
                "preprocess": {"grayscale": True, "resize": [8, 8], **pre},
            }
        }
    )


def test_loads_grayscale_resized_and_caches(tmp_path: Path) -> None:
    root = render(tmp_path / "imgs")
    cfg = config(root)
    data = load_data(cfg.data, cache_dir=tmp_path / "cache")  # type: ignore[attr-defined]
    assert data.input_shape == (1, 8, 8) and data.classes == ["0", "1", "2"]
    assert len(data.train) + len(data.val or []) + len(data.test) == 36
    assert float(data.train.x.min()) >= 0.0 and float(data.train.x.max()) <= 1.0
    assert data.report["cache"] == "miss"
    start = time.perf_counter()
    again = load_data(cfg.data, cache_dir=tmp_path / "cache")  # type: ignore[attr-defined]
    assert again.report["cache"] == "hit" and time.perf_counter() - start < 1.0
    assert np.array_equal(again.train.x.numpy(), data.train.x.numpy())
    (root / "0" / "0.png").write_bytes((root / "1" / "1.png").read_bytes())  # content changed
    assert load_data(cfg.data, cache_dir=tmp_path / "cache").report["cache"] == "miss"  # type: ignore[attr-defined]


def test_colour_is_kept_without_grayscale(tmp_path: Path) -> None:
    data = load_data(config(render(tmp_path / "imgs"), grayscale=False).data)  # type: ignore[attr-defined]
    assert data.input_shape == (3, 8, 8)


def test_mixed_sizes_need_resize(tmp_path: Path) -> None:
    cfg = load_config({"data": {"dataset": "image_folder", "path": str(render(tmp_path / "i"))}})
    with pytest.raises(DataError, match=r"different sizes.*preprocess\.resize"):
        load_data(cfg.data)


def test_resize_modes() -> None:
    wide = Image.new("L", (40, 20), color=255)
    assert to_array(wide, True, (10, 10), "stretch").min() == 255
    padded = to_array(wide, True, (10, 10), "pad")
    assert padded[0, 0].min() == 0 and padded[0, 5].min() == 255  # black bars top and bottom
    assert to_array(wide, True, (10, 10), "crop").min() == 255  # centre cut, no bars
    assert to_array(wide, False, (6, 4), "stretch").shape == (3, 6, 4)


def test_bad_files_are_listed_in_one_error_or_skipped(tmp_path: Path) -> None:
    root = render(tmp_path / "imgs")
    (root / "0" / "broken.png").write_bytes(b"not a png at all")
    (root / "1" / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "2" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError) as info:
        load_data(config(root).data)  # type: ignore[attr-defined]
    msg = str(info.value)
    assert "2 image(s)" in msg and "broken.png" in msg and "truncated.jpg" in msg
    assert "on_bad_image: skip" in msg
    cfg = load_config(
        {
            "data": {
                "dataset": "image_folder",
                "path": str(root),
                "split": "6:2:2",
                "on_bad_image": "skip",
                "preprocess": {"grayscale": True, "resize": [8, 8]},
            }
        }
    )
    data = load_data(cfg.data, cache_dir=tmp_path / "cache")
    assert data.report["skipped_images"] == 2
    # on_bad_image: error after a cache made with skip: it read the cache and said nothing
    strict = load_config(cfg, {"data.on_bad_image": "error"})
    with pytest.raises(DataError, match=r"(?s)2 image\(s\) could not be read.*broken\.png"):
        load_data(strict.data, cache_dir=tmp_path / "cache")
    named = " ".join(data.report["skipped_files"])
    assert "broken.png" in named and "truncated.jpg" in named
    assert data.report["ignored_files"] == [str(root / "2" / "notes.txt")]
    assert len(data.train) + len(data.val or []) + len(data.test) == 36


def test_empty_and_single_class_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found"):
        ImageFolder.scan(tmp_path / "empty")
    with pytest.raises(DataError, match="only one class"):
        ImageFolder.scan(render(tmp_path / "one", classes=(7,)))
    with pytest.raises(DataError, match="not a folder"):
        ImageFolder.scan(tmp_path / "missing")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files whatever their permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    root = render(tmp_path / "imgs")
    locked = root / "0" / "0.png"
    locked.chmod(0)
    try:
        with pytest.raises(DataError, match=r"0\.png"):
            load_image_folder(str(root), config(root).data.preprocess, "error", None)  # type: ignore[attr-defined]
    finally:
        locked.chmod(0o644)


def test_fixed_train_val_test_folders(tmp_path: Path) -> None:
    for split, start in (("train", 0), ("val", 12), ("test", 15)):
        render(tmp_path / "fixed" / split, per_class=12 if split == "train" else 3, start=start)
    cfg = load_config(
        {
            "data": {
                "dataset": "image_folder",
                "path": str(tmp_path / "fixed"),
                "preprocess": {"grayscale": True, "resize": [8, 8]},
            }
        }
    )
    data = load_data(cfg.data)
    assert (len(data.train), len(data.val or []), len(data.test)) == (36, 9, 9)
    assert data.report["fixed_splits"] == ["train", "val", "test"]


def test_predict_applies_the_training_transform_to_new_images(tmp_path: Path) -> None:
    import hone
    from hone.api import load_run
    from hone.evaluate.predict_input import load_inputs

    root = render(tmp_path / "imgs")
    cfg = {
        "data": {
            "dataset": "image_folder",
            "path": str(root),
            "split": "6:2:2",
            "preprocess": {
                "grayscale": True,
                "resize": [8, 8],
                "resize_mode": "pad",
                "scale": "standard",
            },
        },
        "model": {"hidden": [16]},
        "train": {"epochs": 2},
    }
    result = hone.run(cfg, store=str(tmp_path / "store"))
    _, built = load_run(result.run_id, str(tmp_path / "store"))
    x = load_inputs(root / "1" / "3.png", built.data.input_shape, built.data.preprocess)
    everything = np.concatenate(
        [s.x.numpy() for s in (built.data.train, built.data.val, built.data.test)]
    )
    assert x.shape == (1, 1, 8, 8)
    distances = np.abs(everything - x.numpy()).reshape(len(everything), -1).max(1)
    assert distances.min() < 1e-5  # exactly one of the training-pipeline images


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` pixels in a few hundred bytes: a
    decompression bomb (Pillow reads the header before any pixel)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * (width + 1) * 4)  # a few rows; the rest never decoded
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
                     + chunk(b"IEND", b""))  # fmt: skip
    return path


@pytest.mark.parametrize("side", [7_000, 20_000])  # 49 M (Pillow only warns), 400 M pixels
def test_a_decompression_bomb_is_one_clean_error_for_training_and_for_predict(
    tmp_path: Path, side: int
) -> None:
    import hone
    from hone.cli import main

    root = render(tmp_path / "imgs")
    bomb = bomb_png(root / "0" / "bomb.png", side, side)
    with pytest.raises(DataError, match=r"bomb\.png: .*more .*than hone decodes"):
        load_data(config(root).data)  # type: ignore[attr-defined]
    bomb.unlink()
    store = tmp_path / "store"
    run_id = hone.run(
        {"data": config(root).data.model_dump(), "train": {"epochs": 1}},  # type: ignore[attr-defined]
        store=str(store),
    ).run_id
    big = bomb_png(tmp_path / "big.png", side, side)
    with pytest.raises(SystemExit) as info:
        main(["predict", run_id, "--input", str(big), "--store", str(store)])
    assert info.value.code == 2


def test_every_unreadable_image_gets_the_same_message_in_training_and_predict(
    tmp_path: Path,
) -> None:
    from hone.data.images import read_image

    for name, data in (("text.png", b"not a png"), ("cut.jpg", b"\xff\xd8\xff\xe0 cut"),
                       ("empty.png", b"")):  # fmt: skip
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DataError, match=rf"{name}: cannot read the image"):
            read_image(path, True, (8, 8))
