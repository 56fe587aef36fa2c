"""One run from a config: ``run`` trains, evaluates and records it; ``resume`` continues an
interrupted, failed or killed run from its last checkpoint in the same record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from hone.assemble import ModelSource, build_run
from hone.config import (
    Config,
    apply_overrides,
    default_config,
    load_config,
    merge_overrides,
    recorded_config,
)
from hone.data import DataBundle
from hone.data.load import load_data, resolve_task
from hone.data.memory import fingerprint, from_python
from hone.errors import ConfigError, StoreError, warn
from hone.evaluate.report import SPLITS
from hone.runs.ensemble import train_ensemble
from hone.runs.rebuild import data_json, own_model_of
from hone.runs.record import train_and_record
from hone.runs.result import RunResult
from hone.store.runstore import RunStore
from hone.train.callbacks import Callback
from hone.train.resume import load_checkpoint

__all__ = [
    "check_arguments",
    "check_sources",
    "python_data",
    "python_defaults",
    "resume",
    "run",
    "run_in",
]

# A module or data given from Python without a config: a validation split to judge by, early
# stopping to end when it stops helping, Adam at its usual rate.
PYTHON_DEFAULTS: dict[str, Any] = {
    "data.split": {"train": 0.7, "val": 0.15, "test": 0.15},
    "data.preprocess.scale": "standard",
    "train.optimizer": {"name": "adam", "lr": 0.001},
    "train.batch_size": 32,
    "train.epochs": 100,
    "train.early_stopping": {"monitor": "val_loss", "patience": 10, "restore_best": True},
}


def run(
    config: str | Path | Mapping[str, Any] | Config | None = None,
    *,
    model: ModelSource | None = None,
    data: Any = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    store: str | Path | None = None,
    evaluate: Sequence[str] = SPLITS,
    stack: str = "auto",
    overrides: Mapping[str, Any] | None = None,
    **keywords: Any,
) -> RunResult:
    """Train, evaluate and record one run (``hone.run`` without ``repair``; see there)."""
    given = merge_overrides(overrides, keywords)
    check_sources(model, data)
    callbacks, evaluate = check_arguments(callbacks, evaluate)
    defaults = None
    if config is None and (model is not None or data is not None):
        config, defaults = python_defaults(model, data)
    cfg = load_config(config, given)
    if store is not None:  # one place decides where runs live: transfer sources, caches, records
        if "store" in given and str(given["store"]) != str(store):
            raise ConfigError(
                f"store: given as store={str(store)!r} and in the overrides as "
                f"{str(given['store'])!r}; give it once"
            )
        cfg = cfg.model_copy(update={"store": str(store)})
    if cfg.train.ensemble is not None:
        if model is not None or data is not None:
            raise ConfigError("train.ensemble: not with model= or data=; use hone.compare")
        return train_ensemble(cfg, callbacks=callbacks, progress=progress, stack=stack)
    with RunStore(cfg.store) as run_store:
        result = run_in(run_store, cfg, model=model, data=data, callbacks=callbacks,
                        progress=progress, evaluate=evaluate)  # fmt: skip
    if defaults:
        result.notes["defaults"] = defaults
    return result


def run_in(
    run_store: RunStore,
    cfg: Config,
    *,
    model: ModelSource | None = None,
    data: Any = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    evaluate: Sequence[str] = SPLITS,
) -> RunResult:
    """``run`` for a loaded config (not an ensemble) in a store already open: a study's
    trials share one (opening the index costs a few ms, and closing its last connection a
    WAL checkpoint that waits for the disk, per run)."""
    run_store.require_writable()  # before the data is loaded and the model built
    cfg, bundle = python_data(cfg, data)
    built = build_run(cfg, bundle, model=model)
    return train_and_record(built, run_store, callbacks, progress, evaluate=evaluate)


def resume(
    run_id: str,
    *,
    model: ModelSource | None = None,
    data: Any = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    store: str | Path | None = None,
) -> RunResult:
    """Continue an interrupted, failed or killed run from its last checkpoint, in the same
    run record: weights, optimizer and schedule state, random generators and the epoch all
    come from the checkpoint, so the result equals a run that was never stopped."""
    check_sources(model, data)
    callbacks = check_arguments(callbacks)[0]
    run_id, cfg, ckpt, extra = _resumable(run_id, store)
    if store is not None:
        cfg = cfg.model_copy(update={"store": str(store)})
    bundle = None
    if cfg.data.dataset == "python":  # the same data again, checked by its hash
        if data is None:
            raise ConfigError(f"run {run_id} trained on data given from Python: pass data=")
        cfg, bundle = python_data(cfg, data)
        assert bundle is not None
        given = bundle.report["python_data"]["sha256"]
        with RunStore(cfg.store) as rs:
            recorded = (data_json(rs, run_id).get("report") or {}).get("python_data")
        if isinstance(recorded, dict) and recorded.get("sha256") != given:
            raise ConfigError(f"data=: not the data run {run_id} trained on (hash differs)")
    if own_model_of(run_id, extra, cfg.store) and model is None:
        raise ConfigError(f"run {run_id} trained your own module: pass model=")
    built = build_run(cfg, bundle, model=model)
    run_store = RunStore(cfg.store)
    try:
        run_store.reopen_run(run_id, int(ckpt["epoch"]))
        # The checkpoint's history is the truth up to its epoch: the store may have lost the
        # last second of epochs (they are flushed once a second) when the process was killed.
        history = ckpt["history"]
        columns = list(history.values())
        rows = [{k: col[i] for k, col in zip(history, columns, strict=True)}
                for i in range(len(history.get("epoch", [])))]  # fmt: skip
        run_store.append_epochs(run_id, rows)
        return train_and_record(built, run_store, callbacks, progress, run_id=run_id, resume=ckpt)
    finally:
        run_store.close()


def _resumable(
    run_id: str, store: str | Path | None
) -> tuple[str, Config, dict[str, Any], dict[str, Any]]:
    """The run's full id, config, last checkpoint and record extras; refuses a run that is
    still training, ended for good, is an ensemble or has no checkpoint."""
    with RunStore(store) as rs:
        run_id = rs.resolve_id(run_id)
        record = rs.get_run(run_id, with_history=False)
        shown = rs.shown_status(record)
        if shown == "running":
            raise StoreError(
                f"run {run_id} is still training (process {record.owner.get('pid')}); "
                "only a stopped run can be resumed"
            )
        if shown in ("completed", "diverged") or record.message.startswith("pruned"):
            raise StoreError(
                f"run {run_id} {shown}; there is nothing to resume. To train it further, start a "
                f"new run from its weights: hone run --set model.init_from={run_id}"
            )
        cfg = recorded_config(record.config)
        if cfg.train.ensemble is not None:
            raise StoreError(
                f"run {run_id} is an ensemble; resume its members, then run the ensemble again"
            )
        ckpt = load_checkpoint(rs.run_dir(run_id))
        if ckpt is None:
            raise StoreError(
                f"run {run_id} has no checkpoint: it stopped before its first one (every "
                f"{cfg.train.checkpoint_every} epochs, train.checkpoint_every). Start it again "
                "with the same config"
            )
    return run_id, cfg, ckpt, record.extra


def check_arguments(
    callbacks: Any = (), evaluate: Any = SPLITS
) -> tuple[list[Callback], tuple[str, ...]]:
    """``callbacks=`` (``Callback`` instances; ``None`` for none) and ``evaluate=`` (split
    names; one name alone is a split too) as ``run`` takes them, or a ``ConfigError``."""
    if callbacks is None:
        callbacks = ()
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Sequence | set):
        raise ConfigError(
            f"callbacks=: give a list of hone.train.callbacks.Callback objects, got "
            f"{type(callbacks).__name__}"
        )
    odd = [type(c).__name__ for c in callbacks if not isinstance(c, Callback)]
    if odd:
        raise ConfigError(
            f"callbacks=: {', '.join(odd[:3])} is not a hone.train.callbacks.Callback "
            "(subclass it and override the hooks you need)"
        )
    names = (evaluate,) if isinstance(evaluate, str) else evaluate
    if not isinstance(names, Sequence | set) or not all(n in SPLITS for n in names):
        raise ConfigError(f"evaluate=: give split names from {', '.join(SPLITS)}, got {evaluate!r}")
    return list(callbacks), tuple(names)


def check_sources(model: Any, data: Any) -> None:
    """``model=`` and ``data=`` are your own module and data, never the config's sections of
    the same names (a mapping there is a config section passed the wrong way)."""
    if model is not None and not (isinstance(model, nn.Module) or callable(model)):
        raise ConfigError(
            f"model=: takes your own nn.Module (or a function that builds one), got "
            f"{type(model).__name__}; to choose the config's model, use overrides={{'model': ...}}"
        )
    for name, value, what in (
        ("model", model, "your own nn.Module (or a function that builds one)"),
        ("data", data, "your own data: (x, y) arrays or a torch Dataset of (x, y) items"),
    ):
        if isinstance(value, Mapping):
            raise ConfigError(
                f"{name}=: takes {what}, not a mapping. To change the config's {name}: section, "
                f"pass overrides={{{name!r}: {{...}}}} or dotted keys such as "
                f"overrides={{'{name}.{'hidden' if name == 'model' else 'dataset'}': ...}}"
            )


def python_data(cfg: Config, data: Any) -> tuple[Config, DataBundle | None]:
    """``data=`` from Python: the config says ``dataset: python`` and the bundle is split
    and preprocessed by its ``data:`` keys; the record keeps the data's shape and hash."""
    if data is None:
        return cfg, None
    data_cfg = cfg.data.model_copy(update={"dataset": "python", "params": {}, "path": None})
    raw = from_python(data, resolve_task(data_cfg))
    cfg = cfg.model_copy(update={"data": data_cfg})
    bundle = load_data(cfg.data, raw=raw)
    bundle.report["python_data"] = {"shape": list(raw.x.shape), "sha256": fingerprint(raw)}
    return cfg, bundle


def python_defaults(model: Any, data: Any) -> tuple[dict[str, Any], str]:
    """The config for ``hone.run(model=..., data=...)`` without one, and what it chose (also
    said as a ``HoneWarning``): named after the module and the data, with a validation split
    and early stopping rather than the blobs recipe's 1,000 epochs."""
    what = model if model is not None else None
    module = type(what).__name__ if isinstance(what, nn.Module) else getattr(what, "__name__", "")
    shape = _shape_of(data)
    name = "-".join(p for p in (module or "mlp", "on", shape or "blobs") if p)
    cfg = apply_overrides(default_config(), {**PYTHON_DEFAULTS, "name": name})
    said = (
        f"hone.run without a config: run '{name}' uses defaults for data given from Python: "
        "split 70/15/15 (train/val/test, stratified), inputs standardised on the training "
        "split, adam lr 0.001, batch 32, up to 100 epochs with early stopping on val_loss "
        "(patience 10, best weights restored). Pass a config, or overrides such as "
        "**{'train.epochs': 20}, to choose otherwise"
    )
    warn(said)
    return cfg, said


def _shape_of(data: Any) -> str:
    """``1000x20`` for arrays ``(x, y)``, ``1000`` for a dataset; ``""`` when not known."""
    if isinstance(data, tuple | list) and len(data) == 2:
        shape = getattr(data[0], "shape", None)
        if shape is not None:
            return "x".join(str(int(d)) for d in shape)
    try:
        return str(len(data)) if data is not None else ""
    except TypeError:
        return ""
