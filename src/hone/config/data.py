"""``data:`` — which dataset, how it is split and preprocessed."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hone.config.types import MAX_TEXT, PosInt, Seed, Strict, Text, Unit

__all__ = ["DATASETS", "DataConfig", "PreprocessConfig", "SplitConfig"]

DATASETS = (
    "blobs",
    "moons",
    "circles",
    "spiral",
    "xor",
    "digits",
    "mnist",
    "fashion_mnist",
    "csv",
    "npz",
    "regression",
    "image_folder",
    "python",  # arrays or a Dataset given from Python: hone.run(config, data=(x, y))
)

MAX_PARAMS_DEPTH = 8  # generator arguments are flat: numbers, strings, short lists
MAX_PARAMS_ITEMS = 1000


class SplitConfig(Strict):
    """Fractions of the data for train/val/test; ``"6:2:2"`` is accepted too.

    Unset fractions are resolved by the data loader: ``test`` is fixed by the dataset for
    MNIST-style data, and otherwise whatever train and val leave over.
    """

    train: Unit | None = Field(None, gt=0)
    val: Unit | None = Field(None, lt=1)
    test: Unit | None = Field(None, lt=1)
    # auto: stratify classification splits by label; a regression target has no classes
    # (an explicit true there is ignored, and the run says so).
    stratify: bool | Literal["auto"] = "auto"
    shuffle: bool = True
    seed: Seed = 0  # fixed apart from the run seed: seeds vary the model, not the data

    @model_validator(mode="before")
    @classmethod
    def _parse_ratio_string(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            parts = [float(p) for p in value.split(":")]
        except ValueError:
            raise ValueError(f"expected ratios like '6:2:2', got {value[:40]!r}") from None
        bad = any(p < 0 or not math.isfinite(p) for p in parts)
        if len(parts) not in (2, 3) or bad or sum(parts) <= 0:
            raise ValueError(f"expected 2 or 3 non-negative ratios like '6:2:2', got {value!r}")
        total = sum(parts)
        names = ("train", "test") if len(parts) == 2 else ("train", "val", "test")
        return {n: p / total for n, p in zip(names, parts, strict=True)}

    @model_validator(mode="after")
    def _check_sum(self) -> SplitConfig:
        given = [r for r in (self.train, self.val, self.test) if r is not None]
        total = sum(given)
        if len(given) == 3 and abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"train + val + test must sum to 1, got {total:g} "
                f"({self.train:g} + {self.val:g} + {self.test:g}); or use ratios like '6:2:2'"
            )
        if total > 1.0 + 1e-6:
            raise ValueError(f"split fractions sum to {total:g}, more than 1")
        return self


class PreprocessConfig(Strict):
    scale: Literal["none", "standard", "minmax"] = "none"  # per channel for images
    grayscale: bool = False  # image_folder: drop colour (1 channel instead of 3)
    resize: tuple[PosInt, PosInt] | None = None  # image_folder: [H, W]
    resize_mode: Literal["stretch", "pad", "crop"] = "stretch"
    # Regression targets: standard trains on (y - mean) / std of the training split, while
    # metrics, predictions and exports stay in the target's own units. Classification: unused.
    # A run recorded before this key existed trained unscaled (read as none).
    target_scale: Literal["standard", "none"] = "standard"

    @field_validator("resize")
    @classmethod
    def _sane_size(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and max(value) > 4096:
            raise ValueError(f"at most 4096 pixels a side, got {list(value)}")
        return value


def _check_params(value: Any, depth: int = 0, count: list[int] | None = None) -> None:
    """Generator arguments: finite numbers, short strings and lists of them, nothing deep."""
    count = count if count is not None else [0]
    count[0] += 1
    if depth > MAX_PARAMS_DEPTH or count[0] > MAX_PARAMS_ITEMS:
        raise ValueError(
            f"too deeply nested or too large (more than {MAX_PARAMS_DEPTH} levels or "
            f"{MAX_PARAMS_ITEMS} values); generator arguments are numbers, strings and lists"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("contains NaN or inf")
    if isinstance(value, str) and (len(value) > MAX_TEXT or "\x00" in value):
        raise ValueError("contains a NUL byte or a string over 1000 characters")
    if isinstance(value, dict):
        for v in value.values():
            _check_params(v, depth + 1, count)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_params(v, depth + 1, count)


class DataConfig(Strict):
    dataset: Literal[DATASETS] = "blobs"  # type: ignore[valid-type]
    task: Literal["auto", "classification", "regression"] = "auto"
    params: dict[str, Any] = Field(default_factory=dict)
    path: Text | None = None
    target: Text | None = None
    split: SplitConfig = Field(default_factory=SplitConfig)
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    mirrors: list[Text] | None = None  # override download mirrors (MNIST-style datasets)
    on_bad_image: Literal["error", "skip"] = "error"  # image_folder: unreadable files
    missing: Literal["error", "drop", "mean"] = "error"  # csv: empty/NA cells
    sampler: Literal["none", "balanced"] = "none"  # balanced: classes drawn equally often
    target_error: Unit | None = Field(None, lt=1)  # best reachable error (human/Bayes)

    @field_validator("params")
    @classmethod
    def _flat_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_params(value)
        return value

    @model_validator(mode="after")
    def _used_keys(self) -> DataConfig:
        """Keys that only some datasets read are errors elsewhere, not silently ignored."""
        files = ("csv", "npz", "mnist", "fashion_mnist", "image_folder")
        if self.path is not None and self.dataset not in files:
            raise ValueError(
                f"path is only read by the file datasets ({', '.join(files)}); "
                f"'{self.dataset}' is generated: remove data.path"
            )
        if self.target is not None and self.dataset != "csv":
            raise ValueError("target names a CSV column; remove it for dataset " + self.dataset)
        if self.params and self.dataset in files:
            raise ValueError(
                f"params are generator arguments; '{self.dataset}' reads a file: remove them"
            )
        return self
