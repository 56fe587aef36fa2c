"""``load_data(config)``: source -> split -> preprocess -> tensors on the device."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hone.config import DataConfig
from hone.data.base import DataBundle, RawData, Split
from hone.data.generators import generate
from hone.data.idx import DATASETS as IDX_DATASETS
from hone.data.idx import load_idx_dataset
from hone.data.images import load_image_folder
from hone.data.preprocess import apply_scaler, fit_scaler, fit_target_scaler
from hone.data.split import resolve_ratios, split_indices
from hone.data.tabular import load_csv, load_npz
from hone.data.validate import check_raw, check_splits
from hone.errors import DataError

__all__ = ["DECIDED_FROM_TARGET", "data_key", "load_data", "load_raw", "provided_raw",
           "resolve_task"]  # fmt: skip


# Sources whose task ``data.task: auto`` decides from the target's values (``hone.data.task``);
# the others' task is fixed by the dataset.
DECIDED_FROM_TARGET = ("csv", "npz", "python")


def resolve_task(cfg: DataConfig) -> str:
    """The task to read the data as: explicit, fixed by the dataset, or ``auto`` (the loader
    decides from the target) for tables and data given from Python."""
    if cfg.task != "auto":
        return cfg.task
    if cfg.dataset in DECIDED_FROM_TARGET:
        return "auto"
    return "regression" if cfg.dataset == "regression" else "classification"


# Decoded datasets kept in this process, so a sweep decodes MNIST once rather than per trial.
# Keyed by every setting that shapes the raw data and by the files' size and mtime; holders of
# a RawData never modify it (splitting copies rows).
_RAW_CACHE: OrderedDict[str, tuple[RawData, dict[str, Any]]] = OrderedDict()
_RAW_CACHE_SIZE = 2
_BUNDLE_CACHE: OrderedDict[str, DataBundle] = OrderedDict()
_BUNDLE_CACHE_SIZE = 1  # a split MNIST is ~220 MB: keep the one a sweep or comparison reuses
# Raw data handed over by a driver (a Ray task gets the dataset the driver loaded once, from the
# object store), keyed by the settings alone: the worker may not have the files at all.
_PROVIDED: dict[str, tuple[RawData, dict[str, Any]]] = {}


def data_key(cfg: DataConfig) -> str:
    """What identifies a config's raw data, from its settings alone (not its files)."""
    keys = {"dataset", "task", "params", "path", "target", "mirrors", "missing"}
    if cfg.dataset == "image_folder":
        keys.add("preprocess")  # grayscale and resize shape the decoded images
    return json.dumps(cfg.model_dump(mode="json", include=keys), sort_keys=True, default=str)


@contextmanager
def provided_raw(cfg: DataConfig, raw: RawData, report: dict[str, Any]) -> Iterator[None]:
    """Inside the block, loading ``cfg``'s data uses ``raw`` instead of reading its source."""
    key = data_key(cfg)
    _PROVIDED[key] = (raw, report)
    try:
        yield
    finally:
        _PROVIDED.pop(key, None)


def _raw_key(cfg: DataConfig) -> str | None:
    provided = data_key(cfg)
    if provided in _PROVIDED:
        return "provided:" + provided
    if cfg.dataset == "image_folder":
        return None  # cached on disk by content hash instead
    stamp: list[Any] = []
    if cfg.path:
        p = Path(cfg.path)
        files = sorted(p.iterdir()) if p.is_dir() else [p]
        stamp = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]
    keys = {"dataset", "task", "params", "path", "target", "mirrors", "missing"}
    fields = cfg.model_dump(include=keys)
    return json.dumps([fields, stamp], sort_keys=True, default=str)


def load_raw(cfg: DataConfig, cache_dir: Path | None = None) -> tuple[RawData, dict[str, Any]]:
    provided = _PROVIDED.get(data_key(cfg))
    if provided is not None:
        return provided[0], dict(provided[1])
    key = _raw_key(cfg)
    if key is not None and key in _RAW_CACHE:
        _RAW_CACHE.move_to_end(key)
        raw, report = _RAW_CACHE[key]
        return raw, dict(report)
    raw, report = _load_raw(cfg, cache_dir)
    if key is not None:
        _RAW_CACHE[key] = (raw, dict(report))
        while len(_RAW_CACHE) > _RAW_CACHE_SIZE:
            _RAW_CACHE.popitem(last=False)
    return raw, report


def _load_raw(cfg: DataConfig, cache_dir: Path | None) -> tuple[RawData, dict[str, Any]]:
    task = resolve_task(cfg)
    report: dict[str, Any] = {}
    if cfg.dataset in IDX_DATASETS:
        raw = load_idx_dataset(cfg.dataset, cfg.path, cfg.mirrors)
    elif cfg.dataset == "image_folder":
        raw, report = load_image_folder(cfg.path, cfg.preprocess, cfg.on_bad_image, cache_dir)
    elif cfg.dataset == "csv":
        raw = load_csv(cfg.path, cfg.target, task, cfg.missing)
        report["columns"] = raw.columns
        if raw.dropped:
            report["dropped_rows"] = raw.dropped
    elif cfg.dataset == "npz":
        raw = load_npz(cfg.path, task)
    elif cfg.dataset == "python":
        raise DataError(
            "data.dataset: python means the data is given from Python, as "
            "hone.run(config, data=(x, y)); it cannot be read from a config alone"
        )
    else:
        raw = generate(cfg.dataset, cfg.params)
    if task != "auto" and raw.task != task:
        raise DataError(f"data.task: '{cfg.dataset}' is a {raw.task} dataset, not {task}")
    source = cfg.path or cfg.dataset
    check_raw(raw, str(source), allow_nan=cfg.dataset == "csv" and cfg.missing == "mean")
    if cfg.dataset != "image_folder" and (cfg.preprocess.grayscale or cfg.preprocess.resize):
        raise DataError("data.preprocess: grayscale and resize apply to dataset image_folder")
    return raw, report


def load_data(
    cfg: DataConfig,
    device: torch.device | str = "cpu",
    cache_dir: Path | None = None,
    raw: RawData | None = None,
) -> DataBundle:
    """Split and preprocess the data. The split depends only on the data config (its own
    seed), so sweeps and seed comparisons that share it reuse the last few bundles (the
    tensors are never modified in place; each caller gets its own report dict).

    ``raw`` is data given from Python (``data.dataset: python``): split and preprocessed the
    same way, never cached."""
    if raw is not None:
        check_raw(raw, "data= (given from Python)")
        return _split_data(cfg, device, cache_dir, raw)
    raw_key = _raw_key(cfg)
    key = None if raw_key is None else json.dumps([raw_key, cfg.model_dump(mode="json"),
                                                   str(device)], sort_keys=True)  # fmt: skip
    if key is not None and key in _BUNDLE_CACHE:
        _BUNDLE_CACHE.move_to_end(key)
        cached = _BUNDLE_CACHE[key]
        return dataclasses.replace(cached, report=copy.deepcopy(cached.report))
    bundle = _split_data(cfg, device, cache_dir)
    if key is not None:
        _BUNDLE_CACHE[key] = dataclasses.replace(bundle, report=copy.deepcopy(bundle.report))
        while len(_BUNDLE_CACHE) > _BUNDLE_CACHE_SIZE:
            _BUNDLE_CACHE.popitem(last=False)
    return bundle


def _split_data(
    cfg: DataConfig,
    device: torch.device | str,
    cache_dir: Path | None,
    given: RawData | None = None,
) -> DataBundle:
    raw, report = (given, {}) if given is not None else load_raw(cfg, cache_dir)
    if raw.task == "classification" and len(raw.classes) < 2:
        raise DataError(f"data: dataset '{cfg.dataset}' has only one class; need at least two")
    fixed_val = report.pop("val", None)  # image_folder with a val/ folder
    ratios = resolve_ratios(cfg.split, raw.test is not None, cfg.dataset)
    if fixed_val is not None:
        ratios = (ratios[0] + ratios[1], 0.0, ratios[2])
    if raw.task_reason:  # data.task: auto decided, and says why
        report["task"] = {"task": raw.task, "reason": raw.task_reason}
    if cfg.split.stratify is True and raw.task == "regression":
        report["ignored"] = [
            "data.split.stratify: true is ignored: a regression target has no classes to "
            "stratify by (leave it out, or set it to false)"
        ]
    stratify = cfg.split.stratify is not False and raw.task == "classification"
    strata = raw.y if raw.task == "classification" else np.zeros(len(raw.y), dtype=np.int64)
    tr, va, te = split_indices(strata, ratios, stratify, cfg.split.shuffle, cfg.split.seed)
    x_test, y_test = raw.test if raw.test is not None else (raw.x[te], raw.y[te])
    x_val, y_val = fixed_val if fixed_val is not None else (raw.x[va], raw.y[va])
    check_splits(
        {"train": len(tr), "val": len(y_val), "test": len(y_test)},
        {"val": ratios[1], "test": ratios[2]} if raw.test is None else {"val": ratios[1]},
        str(cfg.path or cfg.dataset),
    )
    if raw.test is None and fixed_val is None and len(y_test) == 0:
        raise DataError(f"{cfg.path or cfg.dataset}: no rows left for the test split")
    x_train, fill = raw.x[tr], None
    if np.isnan(x_train).any() or np.isnan(x_val).any() or np.isnan(x_test).any():
        # data.missing: mean — fill from the training split only, so nothing leaks.
        empty = np.isnan(x_train).all(axis=0)
        if empty.any():
            raise DataError(
                f"{cfg.path}: {int(empty.sum())} feature column(s) are empty in every training "
                "row, so they have no mean to fill with; remove those columns"
            )
        fill = np.nanmean(x_train, axis=0)
        report["filled_missing_cells"] = int(
            sum(np.isnan(a).sum() for a in (x_train, x_val, x_test))
        )
    state = fit_scaler(cfg.preprocess.scale, _filled(x_train, fill))
    if fill is not None:
        state["fill"] = fill.tolist()
    if raw.task == "regression" and cfg.preprocess.target_scale == "standard":
        state["target"] = fit_target_scaler(raw.y[tr])

    def make(x: np.ndarray, y: np.ndarray) -> Split:
        x = apply_scaler(state, _filled(x, fill))
        xs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        if raw.task == "classification":
            ys = torch.from_numpy(np.asarray(y, dtype=np.int64))
        else:  # regression targets as (N, k)
            ys = torch.from_numpy(np.asarray(y, dtype=np.float32).reshape(len(y), -1))
        return Split(xs.to(device), ys.to(device))

    if cfg.dataset == "image_folder":  # so predict can give new images the same treatment
        p = cfg.preprocess
        state["image"] = {
            "grayscale": p.grayscale,
            "resize": p.resize,
            "resize_mode": p.resize_mode,
        }
    return DataBundle(
        train=make(x_train, raw.y[tr]),
        val=make(x_val, y_val) if len(y_val) else None,
        test=make(x_test, y_test),
        classes=raw.classes,
        input_shape=tuple(raw.x.shape[1:]),
        preprocess=state,
        report=report,
    )


def _filled(x: np.ndarray, fill: np.ndarray | None) -> np.ndarray:
    if fill is None:
        return x
    return np.where(np.isnan(x), fill.astype(x.dtype), x)
