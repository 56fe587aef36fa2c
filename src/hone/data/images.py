"""Folders of images (the ImageFolder convention): ``path/class_name/*.png``, or ``train/``,
``val/`` and ``test/`` subfolders each laid out that way when the user has fixed splits.

Images are decoded once with Pillow, converted (grayscale or RGB), resized to one shape and
cached as a uint8 array keyed by a hash of the files' bytes and the transform, so the second
run skips decoding. Every unreadable image is listed in one error, or skipped and counted
with ``on_bad_image: skip``; nothing fails halfway through.

``read_image`` is the one way hone opens a user's image (training folders and ``hone predict
--input``), with one error policy: a file that is not an image, is damaged or truncated, or
has more pixels than ``MAX_PIXELS`` (a decompression bomb) raises ``DataError`` naming it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hone.data.base import RawData
from hone.data.paths import existing
from hone.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "MAX_PIXELS", "ImageFolder", "load_image_folder", "read_image",
           "to_array"]  # fmt: skip

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
MAX_PIXELS = 40_000_000  # per image; a bigger one is a decompression bomb, not a photo
MAX_NAMED = 20  # skipped images named in the run notes (all are counted)
SPLIT_DIRS = ("train", "val", "test")


def to_array(img: Any, grayscale: bool, size: tuple[int, int] | None, mode: str) -> np.ndarray:
    """A PIL image -> uint8 (C, H, W): grayscale or RGB, then resized to ``size`` (H, W) by
    ``stretch`` (ignore aspect), ``pad`` (fit inside, pad with black) or ``crop`` (fill,
    cut the centre)."""
    from PIL import Image

    img = img.convert("L" if grayscale else "RGB")
    if size is not None:
        h, w = size
        if mode == "stretch":
            img = img.resize((w, h), Image.Resampling.BILINEAR)
        else:
            scale = (min if mode == "pad" else max)(w / img.width, h / img.height)
            new = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
            img = img.resize(new, Image.Resampling.BILINEAR)
            canvas = Image.new(img.mode, (w, h))
            canvas.paste(img, ((w - new[0]) // 2, (h - new[1]) // 2))
            img = canvas
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def read_image(
    path: Path, grayscale: bool, size: tuple[int, int] | None, mode: str = "stretch"
) -> np.ndarray:
    """Decode one user image to uint8 (C, H, W) as ``to_array`` does; any way it cannot be
    read is a ``DataError`` naming the file. Its size is checked from the header, before a
    single pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    # Decoders of damaged or hostile files raise more than OSError (struct.error from a short
    # header, SyntaxError from a broken PNG chunk, zlib.error, EOFError): all mean "cannot read".
    errors = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error, zlib.error,
              Image.DecompressionBombError, UnidentifiedImageError)  # fmt: skip
    try:
        with warnings.catch_warnings():
            # The size is judged below against MAX_PIXELS; Pillow's own (larger) limit
            # only warns first, and raises DecompressionBombError at twice that.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                pixels = img.width * img.height
                if pixels > MAX_PIXELS:
                    raise DataError(
                        f"{path}: {img.width}x{img.height} is {pixels:,} pixels, more than "
                        f"hone decodes ({MAX_PIXELS:,}); a decompression bomb, or a photo to "
                        "shrink first"
                    )
                img.load()
                return to_array(img, grayscale, size, mode)
    except Image.DecompressionBombError:
        raise DataError(
            f"{path}: has more pixels than hone decodes ({MAX_PIXELS:,}); a decompression "
            "bomb, or a photo to shrink first"
        ) from None
    except errors as exc:
        detail = str(exc)[:160] or type(exc).__name__
        raise DataError(f"{path}: cannot read the image ({detail})") from None


@dataclass
class ImageFolder:
    """The files found under a folder, per split and class."""

    root: Path
    splits: dict[str, list[tuple[Path, str]]]  # split -> [(file, class name)]
    classes: list[str]
    ignored: list[Path] = field(default_factory=list)  # files that are not images

    @classmethod
    def scan(cls, root: Path) -> ImageFolder:
        if not root.is_dir():
            raise DataError(f"data.path: {root} is not a folder of class_name/*.png images")
        fixed = [d for d in SPLIT_DIRS if (root / d).is_dir()]
        if fixed and "train" not in fixed:
            raise DataError(f"{root}: has {', '.join(fixed)}/ but no train/ folder")
        tops = {d: root / d for d in fixed} if fixed else {"all": root}
        splits: dict[str, list[tuple[Path, str]]] = {}
        ignored: list[Path] = []
        names: set[str] = set()
        for split, top in tops.items():
            files = []
            for class_dir in sorted(p for p in top.iterdir() if p.is_dir()):
                for f in sorted(class_dir.iterdir()):
                    if not f.is_file():
                        continue
                    if f.suffix.lower() in IMAGE_SUFFIXES:
                        files.append((f, class_dir.name))
                        names.add(class_dir.name)
                    else:
                        ignored.append(f)
            splits[split] = files
        if not any(splits.values()):
            raise DataError(
                f"{root}: no images found; expected class_name/*.png|jpg|jpeg|bmp|webp|gif "
                "(one folder per class), optionally inside train/, val/ and test/"
            )
        classes = sorted(names)
        if len(classes) < 2:
            raise DataError(
                f"{root}: only one class ({classes[0]}); a classifier needs at least two"
            )
        return cls(root, splits, classes, ignored)

    def fingerprint(self, transform: str) -> str:
        digest = hashlib.sha256(transform.encode())
        for split, files in sorted(self.splits.items()):
            for path, label in files:
                digest.update(f"{split}/{label}/{path.name}".encode())
                try:
                    digest.update(path.read_bytes())
                except OSError:
                    digest.update(b"<unreadable>")
        return digest.hexdigest()[:24]


def _decode(
    files: list[tuple[Path, str]],
    classes: list[str],
    grayscale: bool,
    size: tuple[int, int] | None,
    mode: str,
) -> tuple[list[np.ndarray], list[int], list[str]]:
    arrays, labels, bad = [], [], []
    for path, label in files:
        try:
            arrays.append(read_image(path, grayscale, size, mode))
            labels.append(classes.index(label))
        except DataError as exc:
            bad.append(str(exc))
    return arrays, labels, bad


def _write_cache(
    cache: Path, arrays: dict[str, Any], skipped: int, skipped_files: list[str]
) -> None:
    """Keep the decoded images for the next run; a cache that cannot be written (a full disk,
    a read-only store) only costs that run the decoding again."""
    tmp = ""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".npz")
        os.close(fd)
        names = np.array(skipped_files, dtype=str)
        np.savez(tmp, skipped=np.array(skipped), skipped_files=names, **arrays)
        os.replace(tmp, cache)
        tmp = ""
    except OSError:
        pass
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def load_image_folder(
    path: str | None, preprocess: Any, on_bad_image: str, cache_dir: Path | None
) -> tuple[RawData, dict[str, Any]]:
    """Returns the data (float pixels in [0, 1]) and a report: cache hit, skipped files."""
    if not path:
        raise DataError(
            "data.path: dataset 'image_folder' needs data.path (a folder of class folders)"
        )
    folder = ImageFolder.scan(existing(path, "folder", "image_folder"))
    size = tuple(preprocess.resize) if preprocess.resize else None
    transform = f"gray={preprocess.grayscale};size={size};mode={preprocess.resize_mode}"
    key = folder.fingerprint(transform)
    cache = cache_dir / f"images-{key}.npz" if cache_dir else None
    report: dict[str, Any] = {"ignored_files": [str(p) for p in folder.ignored], "cache": None}
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        report["cache"] = "hit"
        report["skipped_images"] = int(arrays.pop("skipped", np.array(0)))
        report["skipped_files"] = [str(n) for n in arrays.pop("skipped_files", np.array([]))]
        if report["skipped_images"] and on_bad_image == "error":  # a cache made with skip
            listing = "\n  ".join(report["skipped_files"])
            more = report["skipped_images"] - len(report["skipped_files"])
            raise DataError(
                f"{report['skipped_images']} image(s) could not be read (set "
                f"data.on_bad_image: skip to leave them out):\n  {listing}"
                + (f"\n  ... and {more} more" if more > 0 else "")
            )
    else:
        arrays, skipped = {}, 0
        skipped_files: list[str] = []
        for split, files in folder.splits.items():
            images, labels, bad = _decode(
                files, folder.classes, preprocess.grayscale, size, preprocess.resize_mode
            )
            if bad and on_bad_image == "error":
                listing = "\n  ".join(bad[:50]) + (
                    f"\n  ... and {len(bad) - 50} more" if len(bad) > 50 else ""
                )
                raise DataError(
                    f"{len(bad)} image(s) could not be read (set data.on_bad_image: skip "
                    f"to leave them out):\n  {listing}"
                )
            skipped += len(bad)
            skipped_files += bad[: MAX_NAMED - len(skipped_files)]
            shapes = {im.shape for im in images}
            if len(shapes) > 1:
                shown = ", ".join(f"{c}x{h}x{w}" for c, h, w in sorted(shapes)[:4])
                raise DataError(
                    f"{folder.root}: images have different sizes ({shown}); set "
                    "data.preprocess.resize: [H, W] to bring them to one shape"
                )
            if not images:
                raise DataError(f"{folder.root}: no readable images in the {split} split")
            arrays[f"{split}_x"] = np.stack(images)
            arrays[f"{split}_y"] = np.asarray(labels, dtype=np.int64)
        if len({arrays[k].shape[1:] for k in arrays if k.endswith("_x")}) > 1:
            raise DataError(
                f"{folder.root}: train/val/test images differ in size; set data.preprocess.resize"
            )
        if cache is not None:
            _write_cache(cache, arrays, skipped, skipped_files)
        report["cache"] = "miss"
        report["skipped_images"] = skipped
        report["skipped_files"] = skipped_files
    report["fixed_splits"] = [s for s in folder.splits if s != "all"]

    def floats(k: str) -> np.ndarray:
        pixels: np.ndarray = arrays[k].astype(np.float32) / 255.0
        return pixels

    prefix = "all" if "all_x" in arrays else "train"
    raw = RawData(floats(f"{prefix}_x"), arrays[f"{prefix}_y"], folder.classes)
    if "test_x" in arrays:
        raw.test = (floats("test_x"), arrays["test_y"])
    if "val_x" in arrays:
        report["val"] = (floats("val_x"), arrays["val_y"])
    return raw, report
