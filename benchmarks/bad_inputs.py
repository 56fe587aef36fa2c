"""Input files and config patches that slipped through before issue 36, made on disk for the
fuzz and fault studies: CSVs with a byte-order mark, another encoding or NUL bytes;
decompression-bomb and damaged images; zero class weights; values beyond float32; a run
whose weights hold NaN; convolutions larger than their input."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["bomb_png", "config_patches", "csv_files", "image_folders"]


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + body))
    return struct.pack(">I", len(body)) + kind + body + crc


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` pixels, in a few hundred bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * (width + 1) * 4)
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels)
    path.write_bytes(png + _chunk(b"IEND", b""))
    return path


def _table(n: int = 40) -> list[str]:
    rng = np.random.default_rng(0)
    return [f"{'xy'[i % 2]},{rng.normal():.3f},{rng.normal():.3f}" for i in range(n)]


def csv_files(folder: Path) -> dict[str, tuple[Path, bool]]:
    """name -> (file, whether hone should train on it); the target column is ``label``."""
    rows = ["label,a,b", *_table()]
    text = "\r\n".join(rows) + "\r\n"
    latin = "label,a,b,town\r\n" + "".join(f"{r},Zürich\r\n" for r in rows[1:])
    cases = {
        "excel-bom": (b"\xef\xbb\xbf" + text.encode(), True),
        "windows-1252": (latin.encode("cp1252"), False),
        "utf-16": (text.encode("utf-16"), False),
        "nul-bytes": (text.encode().replace(b"\r\nx,", b"\r\nx\x00,", 1), False),
        "bom-only": (b"\xef\xbb\xbf", False),
    }
    out = {}
    for name, (data, trains) in cases.items():
        path = folder / f"{name}.csv"
        path.write_bytes(data)
        out[name] = (path, trains)
    return out


def image_folders(folder: Path) -> dict[str, Path]:
    """Image folders of two classes with one bad file each: a bomb, a damaged PNG."""
    from PIL import Image

    out = {}
    for name in ("bomb", "damaged"):
        root = folder / f"images-{name}"
        for label in ("a", "b"):
            (root / label).mkdir(parents=True, exist_ok=True)
            for i in range(6):
                Image.new("L", (8, 8), color=40 * i).save(root / label / f"{i}.png")
        if name == "bomb":
            bomb_png(root / "a" / "bomb.png", 20_000, 20_000)
        else:
            (root / "b" / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
        out[name] = root
    return out


def config_patches(nan_run: str | None) -> list[dict[str, Any]]:
    """Patches over a tiny blobs config that used to crash or train into nonsense."""
    conv = [{"filters": 4, "kernel": 50}]
    patches: list[dict[str, Any]] = [
        {"train.class_weight": {"0": 0, "1": 0, "2": 0, "3": 0}},
        {"model.init": "constant", "model.init_value": 1e308},
        {"model.init": "constant", "model.init_value": -3.5e38},
        {"model.activation": "leaky_relu", "model.negative_slope": 1e308},
        {"model.activation": "elu", "model.alpha": 1e300},
        {"train.grad_clip": {"value": 1e308}},
        {"data.dataset": "digits", "data.params": {}, "model.kind": "cnn", "model.conv": conv},
        {"data.dataset": "digits", "data.params": {}, "model.kind": "cnn",
         "model.conv": [{"filters": 4, "stride": 9}]},
        {"model.init_from": "no-such-run"},
    ]  # fmt: skip
    if nan_run is not None:
        patches.append({"model.init_from": nan_run})
    return patches
