"""The Python API: ``hone.run(config_or_path, **overrides) -> RunResult``."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hone.config import Config, load_config
from hone.data import DataBundle, load_data
from hone.evaluate.predict import evaluate_split
from hone.nn.build import build_model
from hone.store.runstore import RunStore, clean_json
from hone.train.callbacks import Callback, ProgressBar, StoreRecorder
from hone.train.engine import fit
from hone.train.losses import make_loss, resolve_output_activation
from hone.train.optim import make_optimizer

__all__ = ["RunResult", "build_run", "resolve_device", "run", "seed_everything"]


@dataclass
class RunResult:
    """What a run produced. ``model`` is the trained module (its weights are also in the store)."""

    run_id: str
    status: str
    epochs_run: int
    metrics: dict[str, float]
    history: dict[str, list[float]]
    wall_seconds: float
    config: Config
    message: str = ""
    store: Path = Path()
    model: nn.Module | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The ``hone run --json`` object (strict JSON: NaN becomes null)."""
        out = {
            "run_id": self.run_id,
            "status": self.status,
            "epochs_run": self.epochs_run,
            "metrics": self.metrics,
            "history": self.history,
            "wall_seconds": self.wall_seconds,
            "message": self.message,
        }
        return clean_json(out)  # type: ignore[no-any-return]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from hone.errors import ConfigError

        raise ConfigError("train.device: cuda requested but no CUDA device is available; use auto")
    return device


def choose_threads(setting: int | str, model: nn.Module, batch: int) -> int:
    """CPU threads for training: ``auto`` uses one thread when a step's matmuls are tiny.

    Below ~1M multiply-adds per step, a second thread costs more in synchronisation than
    it saves (measured: blobs 2-25-4 at batch 32 runs no faster on 2 threads, at 2x the CPU).
    """
    if isinstance(setting, int):
        return setting
    work = batch * sum(p.numel() for p in model.parameters())
    cores = os.cpu_count() or 1
    return 1 if work < 1_000_000 else cores


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return the generator that orders training batches."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class BuiltRun:
    """A model with its data, loss and optimizer, ready for ``fit`` (no store involved)."""

    config: Config
    data: DataBundle
    model: nn.Module
    loss_fn: Any
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    output_activation: str


def build_run(cfg: Config, data: DataBundle | None = None) -> BuiltRun:
    """Seed, load data (unless given), build the model, loss and optimizer for ``cfg``."""
    device = resolve_device(cfg.train.device)
    generator = seed_everything(cfg.seed)
    data = (data or load_data(cfg.data)).to(device)
    torch.manual_seed(cfg.seed)  # the model's init does not depend on how data was made
    model = build_model(cfg.model, data.input_shape, data.n_classes).to(device)
    if device.type == "cpu":
        torch.set_num_threads(choose_threads(cfg.train.threads, model, _batch_size(cfg, data)))
    out_act = resolve_output_activation(cfg.model.output_activation, cfg.train.loss)
    loss_fn = make_loss(cfg.train.loss, out_act, data.n_classes)
    opt = cfg.train.optimizer
    optimizer = make_optimizer(opt.name, model.parameters(), opt.lr, opt.extra_params())
    return BuiltRun(cfg, data, model, loss_fn, optimizer, generator, out_act)


def run(
    config: str | Path | Mapping[str, Any] | Config | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    store: str | Path | None = None,
    **overrides: Any,
) -> RunResult:
    """Train, evaluate and record one run.

    ``overrides`` are dotted config keys; use ``seed=1`` or ``**{"train.optimizer.lr": 0.01}``
    (``train__epochs=5`` works too). Returns whatever the run reached, also when interrupted
    or diverged (see ``RunResult.status``).
    """
    cfg = load_config(config, overrides)
    built = build_run(cfg)
    run_store = RunStore(store or cfg.store)
    try:
        return _train_and_record(built, run_store, callbacks, progress)
    finally:
        run_store.close()


def _train_and_record(
    built: BuiltRun, store: RunStore, callbacks: Sequence[Callback], progress: bool
) -> RunResult:
    cfg, data, model = built.config, built.data, built.model
    run_id = store.create_run(cfg.name, cfg.to_dict(), cfg.seed)
    store.save_json(
        run_id,
        "data.json",
        {
            "classes": data.classes,
            "input_shape": list(data.input_shape),
            "preprocess": data.preprocess,
        },
    )
    cbs: list[Callback] = [StoreRecorder(store, run_id), *callbacks]
    if progress:
        cbs.append(ProgressBar(f"{cfg.name} {run_id[-6:]}"))
    started = time.perf_counter()
    batch = _batch_size(cfg, data)
    try:
        state = fit(
            model,
            built.optimizer,
            built.loss_fn,
            data.train,
            data.val,
            epochs=cfg.train.epochs,
            batch_size=batch,
            generator=built.generator,
            callbacks=cbs,
        )
    except BaseException as exc:
        store.save_weights(run_id, model.state_dict())
        store.finish_run(run_id, "failed", {}, time.perf_counter() - started, repr(exc))
        raise
    metrics = final_metrics(built)
    wall = time.perf_counter() - started
    store.save_weights(run_id, model.state_dict())
    extra = {"diverged_at": state.diverged_at, **state.info}
    store.finish_run(run_id, state.status, metrics, wall, state.stop_reason, extra)
    return RunResult(
        run_id=run_id,
        status=state.status,
        epochs_run=len(state.history.get("epoch", [])),
        metrics=metrics,
        history=state.history,
        wall_seconds=wall,
        config=cfg,
        message=state.stop_reason,
        store=store.root,
        model=model,
    )


def _batch_size(cfg: Config, data: DataBundle) -> int:
    return len(data.train) if cfg.train.batch_size == "full" else cfg.train.batch_size


def final_metrics(built: BuiltRun) -> dict[str, float]:
    """Loss and accuracy on each split in eval mode; the test split is touched only here."""
    data = built.data
    splits = {"train": data.train, "val": data.val, "test": data.test}
    metrics: dict[str, float] = {}
    for name, split in splits.items():
        if split is None or len(split) == 0:
            continue
        for key, value in evaluate_split(built.model, split, built.loss_fn).items():
            metrics[f"{name}_{key}"] = value
    return metrics
