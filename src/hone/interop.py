"""A recorded run as a model other tools can use, without its dataset files.

``load(run_id)`` rebuilds the trained model from the run's config, its ``data.json`` (input
shape, classes, the scaler fitted on the training split) and its weights, and wraps it with
its input transform and output activation: ``predict`` takes raw inputs, as the training data
was before scaling (pixels in [0, 1], features as in the CSV after one-hot encoding), and
returns probabilities (or the regression outputs, in the target's own units).

``export(run_id, fmt, out)`` writes that same wrapped model as TorchScript or ONNX (inputs:
raw features; outputs: probabilities), or the bare weights as safetensors with the transform in
the file's metadata. Image decoding and resizing, and CSV parsing, stay outside the exported
file: feed it arrays shaped like ``input_shape``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hone.config import recorded_config
from hone.errors import ConfigError, StoreError, install_hint
from hone.nn.build import build_model
from hone.nn.target import add_target_scale, target_scale_of
from hone.store import RunRecord, RunStore
from hone.store.files import atomic_write
from hone.train.losses import output_transform, resolve_output_activation

__all__ = ["FORMATS", "LoadedModel", "export", "load"]

FORMATS = ("torchscript", "onnx", "safetensors")


class Inference(nn.Module):
    """Raw input -> the training transform -> the model -> probabilities."""

    shift: torch.Tensor
    scale: torch.Tensor
    fill: torch.Tensor

    def __init__(
        self,
        model: nn.Module,
        preprocess: dict[str, Any],
        output: str,
        input_shape: tuple[int, ...],
    ) -> None:
        super().__init__()
        self.model = model
        self.output = output
        scaled = preprocess.get("kind", "none") != "none"
        # Per feature (or per channel, for images): broadcast along dim 1, as apply_scaler does.
        shape = [1, -1] + [1] * (len(input_shape) - 1)
        shift = np.asarray(preprocess.get("shift", 0.0) if scaled else 0.0, dtype=np.float32)
        scale = np.asarray(preprocess.get("scale", 1.0) if scaled else 1.0, dtype=np.float32)
        self.register_buffer("shift", torch.from_numpy(shift).reshape(shape))
        self.register_buffer("scale", torch.from_numpy(scale).reshape(shape))
        fill = preprocess.get("fill")
        self.fills = fill is not None
        filled = np.asarray(fill if fill is not None else [0.0], dtype=np.float32)
        self.register_buffer("fill", torch.from_numpy(filled).reshape(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fills:  # data.missing: mean — NaN cells take the training means
            x = torch.where(torch.isnan(x), self.fill.expand_as(x), x)

        return output_transform(self.model((x - self.shift) / self.scale), self.output)


PIXEL_DATASETS = ("mnist", "fashion_mnist", "image_folder")  # trained on pixels in [0, 1]


@dataclass(repr=False)
class LoadedModel:
    """A trained run, ready to predict: ``predict(x)`` on raw inputs shaped like
    ``input_shape`` (a batch dimension first)."""

    run_id: str
    module: Inference | EnsembleInference
    input_shape: tuple[int, ...]
    classes: list[str]
    config: dict[str, Any]

    def __repr__(self) -> str:
        kind = f"{len(self.classes)} classes" if self.classes else "regression"
        return f"LoadedModel(run {self.run_id}: inputs (N, {_dims(self.input_shape)}), {kind})"

    def predict(self, x: Any) -> np.ndarray:
        """Probabilities per class (or regression outputs) for a batch of raw inputs: shaped
        ``(N, *input_shape)``, one record shaped ``input_shape``, or, for one-channel images,
        ``(N, H, W)``. A ``uint8`` image batch (0-255) is scaled to the [0, 1] pixels the
        model trained on."""
        arr = np.asarray(x)
        pixels = (self.config.get("data") or {}).get("dataset") in PIXEL_DATASETS
        if pixels and arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        elif pixels and arr.size and np.issubdtype(arr.dtype, np.number) and arr.max() > 1.0:
            raise ConfigError(
                f"predict: pixel values up to {float(arr.max()):g}, but this model trained on "
                "pixels in [0, 1]: divide by 255 (a uint8 array is scaled for you)"
            )
        try:
            numbers = np.asarray(arr, dtype=np.float32)
        except (TypeError, ValueError):
            raise ConfigError(
                f"predict: the inputs must be numbers (got {arr.dtype} values); encode text "
                "columns as the training data was (a CSV run's predict takes its rows)"
            ) from None
        if np.isnan(numbers).any() and not _fills(self.module):
            raise ConfigError(
                f"predict: {int(np.isnan(numbers).sum())} input value(s) are NaN, and this model "
                "trained without data.missing: mean (which fills them); fill or drop them"
            )
        batch = torch.as_tensor(numbers)
        shape, got = self.input_shape, tuple(batch.shape)
        gray = len(shape) == 3 and shape[0] == 1  # one-channel images: the channel may be left out
        if got == shape:  # one record without its batch dimension
            batch = batch.unsqueeze(0)
        elif gray and got == shape[1:]:  # one (H, W) image
            batch = batch[None, None]
        elif gray and len(got) == 3 and got[1:] == shape[1:]:  # (N, H, W)
            batch = batch.unsqueeze(1)
        elif got[1:] != shape:
            other = f", (N, {_dims(shape[1:])})" if gray else ""
            raise ConfigError(
                f"predict: got inputs shaped {got}; this model takes (N, {_dims(shape)}){other} "
                f"or one record shaped {shape}"
            )
        with torch.inference_mode():
            result: np.ndarray = self.module(batch).numpy()
        return result

    def predict_classes(self, x: Any) -> list[Any]:
        """The predicted label per record (classification runs), in the labels' own type: ints
        for integer labels, floats for other numbers, strings for names."""
        if not self.classes:
            raise ConfigError("predict_classes: this is a regression run; use predict")
        labels = [_label(c) for c in self.classes]
        return [labels[int(i)] for i in self.predict(x).argmax(1)]


def _dims(shape: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape))


def _label(name: str) -> Any:
    """A class name as the label it was: ``"3"`` -> 3, ``"0.5"`` -> 0.5, ``"cat"`` stays."""
    try:
        number = float(name)
    except ValueError:
        return name
    if number.is_integer() and str(int(number)) == name:
        return int(number)
    return number if repr(number) == name or str(number) == name else name


def load(
    run_id: str, store: str | Path | None = None, model: nn.Module | None = None
) -> LoadedModel:
    """The trained model of a recorded run, with its input transform; no dataset files needed.

    A run that trained your own module (``hone.run(config, model=...)``) needs ``model``: a
    module of the same architecture, which gets the run's weights."""
    with RunStore(store) as rs:
        run_id = rs.resolve_id(run_id)
        record = rs.get_run(run_id, with_history=False)
        if record.ensemble_members:
            return _ensemble(record, rs.root)
        weights = rs.load_weights(run_id)
        meta = rs.load_json(run_id, "data.json")
    if not meta or "input_shape" not in meta:
        raise StoreError(f"run {run_id}: data.json is missing or damaged; re-train the run")
    cfg = recorded_config(record.config)
    shape = tuple(int(d) for d in meta["input_shape"])
    classes = list(meta.get("classes") or [])
    task = meta.get("task", "classification")
    out_weight = next((v for k, v in weights.items() if k.endswith("output.weight")), None)
    n_outputs = (
        len(classes) if classes else int(out_weight.shape[0]) if out_weight is not None else 1
    )
    own = record.extra.get("model") or meta.get("model")
    if own and model is None:
        raise StoreError(
            f"run {run_id} trained your own module ({own.get('class')}); pass one of the same "
            f"architecture: hone.load({run_id!r}, model=...)"
        )
    torch.manual_seed(cfg.seed)
    own_module = model is not None
    if model is None:
        model = build_model(cfg.model, shape, n_outputs)
    # A regression trained on standardised targets ends with their scaler (data.json), so
    # predictions and exports come back in the target's units.
    preprocess = meta.get("preprocess") or {}
    model = add_target_scale(model, preprocess.get("target"), own=own_module)
    try:
        model.load_state_dict(weights)
    except RuntimeError:
        raise StoreError(
            f"run {run_id}: its weights do not fit its model (layer names or shapes differ); "
            "re-train the run"
        ) from None
    output = resolve_output_activation(cfg.model.output_activation, cfg.train.loss, task)
    module = Inference(model, preprocess, output, shape).eval()
    return LoadedModel(run_id, module, shape, classes, record.config)


def _fills(module: nn.Module) -> bool:
    """Whether ``module`` fills NaN inputs with the training means (``data.missing: mean``)."""
    if isinstance(module, EnsembleInference):
        return all(_fills(m) for m in module.members)
    return bool(getattr(module, "fills", False))


class EnsembleInference(nn.Module):
    """An ensemble run's members, combined as it was trained to combine them: their
    probabilities averaged (``mean_prob``; a regression's outputs), or each class's share of
    the members' votes (``vote``, whose largest share is the majority class)."""

    def __init__(self, members: list[Inference | EnsembleInference], combine: str) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.vote = combine == "vote"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = torch.stack([m(x) for m in self.members])  # (members, N, outputs)
        if not self.vote:
            return outputs.mean(0)
        votes = torch.nn.functional.one_hot(outputs.argmax(2), outputs.shape[2])
        return votes.float().mean(0)


def _ensemble(record: RunRecord, store: Path) -> LoadedModel:
    """An ensemble run (it keeps no weights of its own) as its members combined."""
    loaded = [load(member, store) for member in record.ensemble_members]
    combine = str(record.extra.get("combine", "mean_prob"))
    combined = EnsembleInference([m.module for m in loaded], combine).eval()
    first = loaded[0]
    return LoadedModel(record.id, combined, first.input_shape, first.classes, record.config)


def export(
    run_id: str, fmt: str, out: str | Path | None = None, store: str | Path | None = None
) -> Path:
    """Write the run's model as ``torchscript``, ``onnx`` or ``safetensors`` to ``out``;
    ``export(run_id, "model.onnx")`` takes the format from the file's suffix (.pt, .onnx,
    .safetensors)."""
    if out is None:
        fmt, out = _by_suffix(fmt), fmt
    out = Path(out)
    if fmt not in FORMATS:
        raise ConfigError(f"--format: '{fmt}' is not a format; valid: {', '.join(FORMATS)}")
    if out.is_dir():
        raise ConfigError(f"{out} is a folder; give a file name such as model.{_suffix(fmt)}")
    if not out.parent.is_dir():
        raise ConfigError(f"the folder {out.parent} does not exist")
    if fmt == "onnx":  # before the run is loaded or anything written
        _need_onnx()
    loaded = load(run_id, store)
    if fmt == "safetensors" and isinstance(loaded.module, EnsembleInference):
        raise ConfigError(f"run {run_id} is an ensemble: export it as torchscript or onnx (one "
                          "file with every member), or export a member as safetensors")  # fmt: skip
    example = torch.zeros((1, *loaded.input_shape))
    state = loaded.module.state_dict()
    needed = sum(v.numel() * v.element_size() for v in state.values()) + 64 * 1024
    if fmt == "torchscript":
        traced = torch.jit.trace(loaded.module, example)  # type: ignore[no-untyped-call]
        write: Any = lambda tmp: traced.save(tmp)  # noqa: E731
    elif fmt == "onnx":
        write = lambda tmp: _onnx(loaded, example, Path(tmp))  # noqa: E731
    else:
        write = lambda tmp: _safetensors(loaded, tmp)  # noqa: E731
    # A new file renamed into place: a full disk leaves no half model file behind.
    from safetensors import SafetensorError

    return atomic_write(out, write, needed=needed, errors=(RuntimeError, SafetensorError))


def _safetensors(loaded: LoadedModel, path: str) -> None:
    from safetensors.torch import save_file

    module = loaded.module
    assert isinstance(module, Inference)  # an ensemble is refused before (export)
    tensors = {k: v.contiguous() for k, v in module.model.state_dict().items()}
    target = target_scale_of(module.model)
    meta = {
        "hone_run": loaded.run_id,
        "input_shape": json.dumps(loaded.input_shape),
        "classes": json.dumps(loaded.classes),
        "output": module.output,
        "transform": "x -> (x - shift) / scale per feature (or channel), then the model"
        + ("; its outputs * target_scale + target_shift are in the target's units"
           if target is not None else ""),
        "shift": json.dumps(module.shift.reshape(-1).tolist()),
        "scale": json.dumps(module.scale.reshape(-1).tolist()),
    }  # fmt: skip
    if target is not None:
        meta["target_shift"] = json.dumps(target.shift.tolist())
        meta["target_scale"] = json.dumps(target.scale.tolist())
    save_file(tensors, path, metadata=meta)


def _need_onnx() -> None:
    import importlib.util

    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"--format onnx needs {', '.join(missing)}: {install_hint('onnx')}")


def _onnx(loaded: LoadedModel, example: torch.Tensor, out: Path) -> None:
    torch.onnx.export(
        loaded.module,
        (example,),
        str(out),
        input_names=["input"],
        output_names=["output"],
        dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
        dynamo=True,
    )


def _by_suffix(name: str) -> str:
    suffixes = {".pt": "torchscript", ".ts": "torchscript", ".onnx": "onnx",
                ".safetensors": "safetensors"}  # fmt: skip
    fmt = suffixes.get(Path(name).suffix.lower())
    if fmt is None:
        raise ConfigError(f"export: give the format ({', '.join(FORMATS)}) and the file, or a "
                          f"file ending {', '.join(suffixes)} (got {name!r})")  # fmt: skip
    return fmt


def _suffix(fmt: str) -> str:
    return {"torchscript": "pt", "onnx": "onnx", "safetensors": "safetensors"}[fmt]
