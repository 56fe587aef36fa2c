"""``load_data(config)``: source -> split -> preprocess -> tensors on the device."""

from __future__ import annotations

import numpy as np
import torch

from hone.config import DataConfig
from hone.data.base import DataBundle, RawData, Split
from hone.data.generators import generate
from hone.data.idx import DATASETS as IDX_DATASETS
from hone.data.idx import load_idx_dataset
from hone.data.preprocess import apply_scaler, fit_scaler
from hone.data.split import resolve_ratios, split_indices
from hone.data.tabular import load_csv, load_npz
from hone.errors import DataError

__all__ = ["load_data", "load_raw"]


def resolve_task(cfg: DataConfig) -> str:
    if cfg.task != "auto":
        return cfg.task
    return "regression" if cfg.dataset == "regression" else "classification"


def load_raw(cfg: DataConfig) -> RawData:
    task = resolve_task(cfg)
    if cfg.dataset in IDX_DATASETS:
        raw = load_idx_dataset(cfg.dataset, cfg.path, cfg.mirrors)
    elif cfg.dataset == "csv":
        raw = load_csv(cfg.path, cfg.target, task)
    elif cfg.dataset == "npz":
        raw = load_npz(cfg.path, task)
    else:
        raw = generate(cfg.dataset, cfg.params)
    if raw.task != task:
        raise DataError(f"data.task: '{cfg.dataset}' is a {raw.task} dataset, not {task}")
    return raw


def load_data(cfg: DataConfig, device: torch.device | str = "cpu") -> DataBundle:
    raw = load_raw(cfg)
    if raw.task == "classification" and len(raw.classes) < 2:
        raise DataError(f"data: dataset '{cfg.dataset}' has only one class; need at least two")
    ratios = resolve_ratios(cfg.split, raw.test is not None, cfg.dataset)
    stratify = cfg.split.stratify and raw.task == "classification"
    strata = raw.y if raw.task == "classification" else np.zeros(len(raw.y), dtype=np.int64)
    tr, va, te = split_indices(strata, ratios, stratify, cfg.split.shuffle, cfg.split.seed)
    x_test, y_test = raw.test if raw.test is not None else (raw.x[te], raw.y[te])
    state = fit_scaler(cfg.preprocess.scale, raw.x[tr])

    def make(x: np.ndarray, y: np.ndarray) -> Split:
        xs = torch.from_numpy(np.ascontiguousarray(apply_scaler(state, x), dtype=np.float32))
        if raw.task == "classification":
            ys = torch.from_numpy(np.asarray(y, dtype=np.int64))
        else:  # regression targets as (N, k)
            ys = torch.from_numpy(np.asarray(y, dtype=np.float32).reshape(len(y), -1))
        return Split(xs.to(device), ys.to(device))

    return DataBundle(
        train=make(raw.x[tr], raw.y[tr]),
        val=make(raw.x[va], raw.y[va]) if len(va) else None,
        test=make(x_test, y_test),
        classes=raw.classes,
        input_shape=tuple(raw.x.shape[1:]),
        preprocess=state,
    )
