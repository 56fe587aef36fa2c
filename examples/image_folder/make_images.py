"""Render a small image folder to try `dataset: image_folder` with: scikit-learn's 8x8 digits
saved as PNG files of different sizes, some in colour, one folder per class.

    python examples/image_folder/make_images.py [OUT_DIR]   (default: examples/image_folder/images)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "images"
    digits = load_digits()
    rng = np.random.default_rng(0)
    for i, (pixels, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        img = Image.fromarray((pixels / 16 * 255).astype(np.uint8))
        side = int(rng.integers(16, 40))  # photos never come in one size
        img = img.resize((side, side + int(rng.integers(-4, 5))))
        if i % 4 == 0:
            img = img.convert("RGB")
        folder = out / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        img.save(folder / f"{i:04d}.png")
    (out / "3" / "broken.png").write_bytes(b"this is not an image")  # see on_bad_image
    print(f"wrote {len(digits.images)} images in 10 class folders under {out}")


if __name__ == "__main__":
    main()
