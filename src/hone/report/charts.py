"""Small charts drawn as HTML, not as images: a confusion matrix as a table of counts shaded
by size, bars as widths, and test images as thumbnails with their captions beside them.
Text stays text (searchable, never cut, sharp at any zoom) and a page needs no plotting."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np

__all__ = ["bar_rows", "heatmap", "thumbnail"]


def heatmap(matrix: list[list[int]], classes: list[str]) -> dict[str, Any]:
    """Rows of cells ``{count, shade}`` (shade 0..1 of the largest count) with the classes."""
    high = max((max(row) for row in matrix if row), default=0) or 1
    rows = [[{"count": int(c), "shade": round(float(c) / high, 3)} for c in row]
            for row in matrix]  # fmt: skip
    return {"classes": list(classes), "rows": rows}


def bar_rows(
    labels: list[str], values: list[float], colors: list[str] | None = None
) -> list[dict[str, Any]]:
    """One row per bar: its label, value (rounded to 4 significant digits) and width as a
    percentage of the largest (non-finite values get no bar)."""
    finite = [abs(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    top = max(finite, default=0.0) or 1.0
    out = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        ok = isinstance(value, int | float) and math.isfinite(value)
        out.append({
            "label": label,
            "value": f"{value:.4g}" if ok else "-",
            "width": round(100 * abs(value) / top, 1) if ok else 0.0,
            "color": colors[i] if colors else "#2563eb",
        })  # fmt: skip
    return out


def thumbnail(image: np.ndarray, scale: int = 3) -> str:
    """A (C, H, W) image in [0, 1] (any range: it is stretched) as a small PNG data URI."""
    from PIL import Image

    pic = image.transpose(1, 2, 0) if image.shape[0] == 3 else image[0]
    low, high = float(pic.min()), float(pic.max())
    pixels = ((pic - low) / (high - low + 1e-12) * 255).astype(np.uint8)
    img = Image.fromarray(pixels)
    img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
