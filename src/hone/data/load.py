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


def load_raw(cfg: DataConfig) -> RawData:
    if cfg.dataset in IDX_DATASETS:
        return load_idx_dataset(cfg.dataset, cfg.path, cfg.mirrors)
    if cfg.dataset == "csv":
        return load_csv(cfg.path, cfg.target)
    if cfg.dataset == "npz":
        return load_npz(cfg.path)
    return generate(cfg.dataset, cfg.params)


def load_data(cfg: DataConfig, device: torch.device | str = "cpu") -> DataBundle:
    raw = load_raw(cfg)
    if len(raw.classes) < 2:
        raise DataError(f"data: dataset '{cfg.dataset}' has only one class; need at least two")
    ratios = resolve_ratios(cfg.split, raw.test is not None, cfg.dataset)
    tr, va, te = split_indices(raw.y, ratios, cfg.split.stratify, cfg.split.shuffle, cfg.split.seed)
    x_test, y_test = raw.test if raw.test is not None else (raw.x[te], raw.y[te])
    state = fit_scaler(cfg.preprocess.scale, raw.x[tr])

    def make(x: np.ndarray, y: np.ndarray) -> Split:
        xs = torch.from_numpy(np.ascontiguousarray(apply_scaler(state, x), dtype=np.float32))
        return Split(xs.to(device), torch.from_numpy(np.asarray(y, dtype=np.int64)).to(device))

    return DataBundle(
        train=make(raw.x[tr], raw.y[tr]),
        val=make(raw.x[va], raw.y[va]) if len(va) else None,
        test=make(x_test, y_test),
        classes=raw.classes,
        input_shape=tuple(raw.x.shape[1:]),
        preprocess=state,
    )
