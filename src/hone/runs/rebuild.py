"""A recorded run built again from its record: its config, its data (the same splits) and
its saved weights, for evaluation, predictions and deferred evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hone.assemble import BuiltRun, build_run, load_run_data
from hone.config import recorded_config
from hone.data import DataBundle
from hone.errors import StoreError
from hone.evaluate.report import SPLITS, evaluate_splits
from hone.store.runstore import RunStore, resolve_store_root

__all__ = ["DataCache", "data_json", "final_metrics", "load_run", "own_model_of"]

DataCache = dict[str, DataBundle]  # loaded data bundles by store and data config


def load_run(
    run_id: str, store: str | Path | None = None, data: DataCache | None = None
) -> tuple[str, BuiltRun]:
    """Rebuild a recorded run: its config, its data (same splits) and its saved weights.
    ``data``: bundles already loaded, by data config (a report of many runs on one dataset
    loads it once)."""
    with RunStore(store) as rs:
        run_id = rs.resolve_id(run_id)
        record = rs.get_run(run_id, with_history=False)
        members = record.ensemble_members
        if members:
            raise StoreError(
                f"run {run_id} is an ensemble of {len(members)} runs, each with its own weights "
                f"({', '.join(members[:4])}{' ...' if len(members) > 4 else ''}): give one of "
                f"them, or predict and export with the whole: hone.load({run_id!r}).predict, "
                f"hone export {run_id} model.pt"
            )
        weights = rs.load_weights(run_id)
    cfg = recorded_config(record.config)
    if cfg.data.dataset == "python" or own_model_of(run_id, record.extra, store):
        raise StoreError(
            f"run {run_id} trained on data or a model given from Python, which its config "
            "cannot rebuild; its record, diagnosis and report stand. For predictions use "
            f"hone.load({run_id!r}, model=...)"
        )
    bundle = None
    if data is not None:
        key = f"{resolve_store_root(cfg.store)}|{cfg.data.model_dump_json()}"
        bundle = data.get(key)
        if bundle is None:
            bundle = data[key] = load_run_data(cfg)
    built = build_run(cfg, bundle)
    device = next(built.model.parameters()).device
    try:
        built.model.load_state_dict({k: v.to(device) for k, v in weights.items()})
    except RuntimeError:
        path = resolve_store_root(store) / "runs" / run_id / "weights.safetensors"
        raise StoreError(
            f"run {run_id}: {path} does not hold this run's model (layer names or shapes differ); "
            "it was replaced or damaged: re-train the run"
        ) from None
    built.model.eval()
    return run_id, built


def own_model_of(run_id: str, extra: dict[str, Any], store: str | Path | None) -> Any:
    """The class of the user's own module a run trained, else ``None`` (also for runs killed
    before their record was finished: ``data.json`` is written when the run starts)."""
    if extra.get("model"):
        return extra["model"]
    with RunStore(store) as rs:
        return data_json(rs, run_id).get("model")


def data_json(rs: RunStore, run_id: str) -> dict[str, Any]:
    """The run's ``data.json``, or nothing when it is missing or not an object."""
    if not (rs.run_dir(run_id) / "data.json").is_file():
        return {}
    meta = rs.load_json(run_id, "data.json")
    return meta if isinstance(meta, dict) else {}


def final_metrics(built: BuiltRun) -> dict[str, float]:
    """Loss and accuracy on each split in eval mode (what a run records at its end)."""
    return evaluate_splits(built.model, built.data, built.loss_fn, built.output_activation,
                           SPLITS)[0]  # fmt: skip
