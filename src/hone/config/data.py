"""``data:`` — which dataset, how it is split and preprocessed."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from hone.config.types import MAX_TEXT, PosInt, Seed, Strict, Text, Unit, or_shorthand

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

# ``split: "6:2:2"`` (train:val:test) or ``"8:2"`` (train:test), as _parse_ratio_string reads it
RATIOS = r"^\s*[0-9.eE+]+\s*:\s*[0-9.eE+]+\s*(:\s*[0-9.eE+]+\s*)?$"

MAX_PARAMS_DEPTH = 8  # generator arguments are flat: numbers, strings, short lists
MAX_PARAMS_ITEMS = 1000


class SplitConfig(Strict):
    """Fractions of the data for train/val/test; ``"6:2:2"`` is accepted too.

    Unset fractions are resolved by the data loader: ``test`` is fixed by the dataset for
    MNIST-style data, and otherwise whatever train and val leave over.
    """

    model_config = ConfigDict(
        json_schema_extra=or_shorthand(
            {"type": "string", "pattern": RATIOS, "description": "ratios, e.g. '6:2:2' or '8:2'"}
        )
    )

    train: Unit | None = Field(None, gt=0)
    """Fraction for training. MNIST-style data: of the 60,000 training images (the rest of
    them is left out, so 0.05 trains on 3,000); otherwise what val and test leave."""
    val: Unit | None = Field(None, lt=1)
    """Fraction for validation (what diagnosis, early stopping and comparisons judge); 0: none."""
    test: Unit | None = Field(None, lt=1)
    """Fraction held out for the final test (default 0.2); MNIST-style data keeps its official
    10,000-image test set and refuses this key."""
    stratify: bool | Literal["auto"] = "auto"
    """auto: stratify classification splits by label; a regression target has no classes (an
    explicit true there is ignored, and the run says so)."""
    shuffle: bool = True
    """Shuffle before splitting; false keeps the file's order: train first, test last."""
    seed: Seed = 0
    """The split's own seed, fixed apart from the run seed: seeds vary the model, not the data."""

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
    """Transforms fitted on the training split only, stored with the run so ``predict`` and
    exports apply the same ones."""

    scale: Literal["none", "standard", "minmax"] = "none"
    """Feature scaling fitted on the training split (per channel for images)."""
    grayscale: bool = False
    """image_folder: drop colour (1 channel instead of 3)."""
    resize: tuple[PosInt, PosInt] | None = Field(
        None, json_schema_extra={"items": {"type": "integer", "minimum": 1, "maximum": 4096}}
    )
    """image_folder: [H, W], at most 4096 pixels a side."""
    resize_mode: Literal["stretch", "pad", "crop"] = "stretch"
    """image_folder: how resize keeps (pad, crop) or ignores (stretch) the aspect ratio."""
    target_scale: Literal["standard", "none"] = "standard"
    """Regression targets: standard trains on (y - mean) / std of the training split, while
    metrics, predictions and exports stay in the target's own units. Classification: unused.
    A run recorded before this key existed trained unscaled (read as none)."""

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
    """Which dataset, how it is split and preprocessed."""

    dataset: Literal[DATASETS] = "blobs"  # type: ignore[valid-type]
    """A generator (blobs, moons, circles, spiral, xor, regression), scikit-learn's digits,
    mnist or fashion_mnist (IDX files), a file (csv, npz), a folder of images (image_folder),
    or python (data given as hone.run(config, data=(x, y)))."""
    task: Literal["auto", "classification", "regression"] = "auto"
    """auto decides from the target (csv, npz, Python data) and says why; generated datasets
    keep their own task."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Generator arguments (n_samples, centers, noise, random_state, ...); generators only."""
    path: Text | None = None
    """Folder (mnist, fashion_mnist, image_folder) or file (csv, npz); MNIST-style data is
    downloaded when no path is given."""
    target: Text | None = None
    """csv: the name of the label column."""
    split: SplitConfig = Field(default_factory=SplitConfig)
    """Train/val/test fractions, or ratios such as '6:2:2'."""
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    """Scaling and image transforms, fitted on the training split."""
    mirrors: list[Text] | None = None
    """mnist, fashion_mnist: download mirrors to try instead of the official ones."""
    on_bad_image: Literal["error", "skip"] = "error"
    """image_folder: unreadable files are one error listing them all, or left out and counted."""
    missing: Literal["error", "drop", "mean"] = "error"
    """csv: empty or NA cells are an error naming the line, drop the row, or take the training
    split's column mean."""
    sampler: Literal["none", "balanced"] = "none"
    """balanced: each class is drawn equally often in training batches."""
    target_error: Unit | None = Field(None, lt=1)
    """The best reachable error (human-level or Bayes): diagnosis splits the rest into
    avoidable bias and variance."""

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
