"""The Python API: ``hone.run(config_or_path, **overrides) -> RunResult``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from hone.assemble import (
    BuiltRun,
    ModelSource,
    build_run,
    load_run_data,
    resolve_class_weights,
    resolve_device,
    seed_everything,
)
from hone.config import Config, load_config
from hone.data import DataBundle
from hone.errors import ConfigError, HoneError, StoreError
from hone.evaluate.deferred import DEFERRED, SPLITS, deferrable
from hone.evaluate.report import evaluate_splits
from hone.store.runstore import RunStore, clean_json
from hone.train.callbacks import (
    Callback,
    Checkpoint,
    ProgressBar,
    StoreRecorder,
    Telemetry,
    Watch,
)
from hone.train.state import TrainState

__all__ = [
    "BuiltRun",
    "RunResult",
    "build_run",
    "final_metrics",
    "load_run",
    "load_run_data",
    "resolve_class_weights",
    "resolve_device",
    "resume",
    "run",
    "run_ensemble",
    "seed_everything",
]


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
    members: list[RunResult] = field(default_factory=list, repr=False)  # ensembles only
    notes: dict[str, Any] = field(default_factory=dict)  # transfer, class weights, data loading

    def _repr_html_(self) -> str:
        """The run as a small table in Jupyter."""
        from hone.report.notebook import run_html

        return run_html(self)

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
        if self.notes.get("repairs"):
            out["repairs"] = self.notes["repairs"]
        if self.members:
            out["members"] = [
                {"run_id": m.run_id, "status": m.status, "metrics": m.metrics} for m in self.members
            ]
        return clean_json(out)  # type: ignore[no-any-return]


def load_run(run_id: str, store: str | Path | None = None) -> tuple[str, BuiltRun]:
    """Rebuild a recorded run: its config, its data (same splits) and its saved weights."""
    with RunStore(store) as rs:
        run_id = rs.resolve_id(run_id)
        record = rs.get_run(run_id, with_history=False)
        weights = rs.load_weights(run_id)
    cfg = load_config(record.config)
    if cfg.data.dataset == "python" or own_model_of(run_id, record.extra, store):
        raise StoreError(
            f"run {run_id} trained on data or a model given from Python, which its config "
            "cannot rebuild; its record, diagnosis and report stand. For predictions use "
            f"hone.load({run_id!r}, model=...)"
        )
    built = build_run(cfg)
    device = next(built.model.parameters()).device
    try:
        built.model.load_state_dict({k: v.to(device) for k, v in weights.items()})
    except RuntimeError:
        path = rs_path(store, run_id)
        raise StoreError(
            f"run {run_id}: {path} does not hold this run's model (layer names or shapes differ); "
            "it was replaced or damaged: re-train the run"
        ) from None
    built.model.eval()
    return run_id, built


def rs_path(store: str | Path | None, run_id: str) -> Path:
    from hone.store.runstore import resolve_store_root

    return resolve_store_root(store) / "runs" / run_id / "weights.safetensors"


def run(
    config: str | Path | Mapping[str, Any] | Config | None = None,
    *,
    model: ModelSource | None = None,
    data: Any = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    store: str | Path | None = None,
    repair: int = 0,
    evaluate: Sequence[str] = SPLITS,
    stack: str = "auto",
    **overrides: Any,
) -> RunResult:
    """Train, evaluate and record one run.

    ``overrides`` are dotted config keys; use ``seed=1`` or ``**{"train.optimizer.lr": 0.01}``
    (``train__epochs=5`` works too). Returns whatever the run reached, also when interrupted
    or diverged (see ``RunResult.status``).

    ``model`` (an ``nn.Module`` returning logits, or a function building one) replaces the
    config's ``model:``; ``data`` (``(x, y)`` arrays or a torch ``Dataset`` of ``(x, y)``)
    replaces ``data.dataset`` and is split and preprocessed by the config's ``data:`` keys.
    ``repair=N``: a critical finding early in training restarts the run with its top
    prescription, at most N times (``hone run --repair``; see ``experiments.repair``).
    ``evaluate``: the splits evaluated when the run ends (``hone tune`` asks for the one its
    metric is on); the rest, and the full evaluation reports, are computed the first time
    something reads the run's full record (``hone.evaluate.deferred``). ``stack``: auto
    trains an ensemble's members as one stacked model where they differ only in the seed.
    """
    if repair:
        from hone.experiments.repair import run_with_repair

        return run_with_repair(  # type: ignore[no-any-return]
            config, attempts=repair, store=store, model=model, data=data,
            callbacks=callbacks, progress=progress, **overrides,
        )  # fmt: skip
    cfg = load_config(config, overrides)
    if store is not None:  # one place decides where runs live: transfer sources, caches, records
        cfg = cfg.model_copy(update={"store": str(store)})
    if cfg.train.ensemble is not None:
        if model is not None or data is not None:
            raise ConfigError("train.ensemble: not with model= or data=; use hone.compare")
        return run_ensemble(cfg, callbacks=callbacks, progress=progress, stack=stack)
    cfg, bundle = python_data(cfg, data)
    built = build_run(cfg, bundle, model=model)
    run_store = RunStore(cfg.store)
    try:
        return _train_and_record(built, run_store, callbacks, progress, evaluate=evaluate)
    finally:
        run_store.close()


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
    from hone.train.resume import load_checkpoint

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
        cfg = load_config(record.config)
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
            recorded = (_data_json(rs, run_id).get("report") or {}).get("python_data")
        if isinstance(recorded, dict) and recorded.get("sha256") != given:
            raise ConfigError(f"data=: not the data run {run_id} trained on (hash differs)")
    if own_model_of(record.id, record.extra, cfg.store) and model is None:
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
        return _train_and_record(built, run_store, callbacks, progress, run_id=run_id, resume=ckpt)
    finally:
        run_store.close()


def python_data(cfg: Config, data: Any) -> tuple[Config, DataBundle | None]:
    """``data=`` from Python: the config says ``dataset: python`` and the bundle is split
    and preprocessed by its ``data:`` keys; the record keeps the data's shape and hash."""
    if data is None:
        return cfg, None
    from hone.data.load import load_data, resolve_task
    from hone.data.memory import fingerprint, from_python

    data_cfg = cfg.data.model_copy(update={"dataset": "python", "params": {}, "path": None})
    raw = from_python(data, resolve_task(data_cfg))
    cfg = cfg.model_copy(update={"data": data_cfg})
    bundle = load_data(cfg.data, raw=raw)
    bundle.report["python_data"] = {"shape": list(raw.x.shape), "sha256": fingerprint(raw)}
    return cfg, bundle


def run_ensemble(
    cfg: Config, *, callbacks: Sequence[Callback] = (), progress: bool = False, stack: str = "auto"
) -> RunResult:
    """Train ``train.ensemble.members`` members (each recorded as its own run) and record the
    ensemble as one run (``hone.experiments.ensemble``)."""
    from hone.experiments.ensemble import train_ensemble

    return train_ensemble(cfg, callbacks=callbacks, progress=progress, stack=stack)


def _train_and_record(
    built: BuiltRun,
    store: RunStore,
    callbacks: Sequence[Callback],
    progress: bool,
    extra: dict[str, Any] | None = None,
    run_id: str | None = None,
    resume: dict[str, Any] | None = None,
    evaluate: Sequence[str] = SPLITS,
) -> RunResult:
    """Train ``built`` and record it as a new run, or, with ``run_id`` and ``resume`` (a
    checkpoint), continue that run."""
    cfg, model = built.config, built.model
    if run_id is None:
        run_id = _new_run(store, built)
    before = float(resume["elapsed"]) if resume else 0.0
    telemetry = _telemetry(built)
    bar = ProgressBar(f"{cfg.name} {run_id[-6:]}") if progress else None
    cbs = [*_recorders(built, store, run_id, telemetry, bar, before), *callbacks]
    if bar is not None:
        cbs.append(bar)
    live = None
    if cfg.log_to:
        from hone.tracking.live import LiveLogger

        live = LiveLogger(cfg.log_to, store, run_id)
        cbs.append(live)
    started = time.perf_counter() - before
    try:
        state = built.fit(cbs, resume=resume)
        return record_trained(built, store, run_id, state, telemetry,
                              time.perf_counter() - started, live, extra, evaluate)  # fmt: skip
    except BaseException as exc:
        _record_failure(store, run_id, model, telemetry, time.perf_counter() - started, exc)
        raise


def _telemetry(built: BuiltRun) -> Telemetry | None:
    tel = built.config.telemetry
    return Telemetry(tel.per_epoch, init_batch=built.data.train.x[:512]) if tel.enabled else None


def _recorders(
    built: BuiltRun,
    store: RunStore,
    run_id: str,
    telemetry: Telemetry | None,
    bar: ProgressBar | None = None,
    before: float = 0.0,
) -> list[Callback]:
    """What every run records while it trains: history, checkpoints, telemetry, the watch."""
    cfg = built.config
    cbs: list[Callback] = [
        StoreRecorder(store, run_id),
        Checkpoint(store, run_id, cfg.train.checkpoint_every, elapsed=before),
    ]
    if telemetry is not None:
        cbs.append(telemetry)
    if cfg.train.watch is not None:
        cbs.append(_watch(cfg, built.data, bar))
    return cbs


def record_trained(
    built: BuiltRun,
    store: RunStore,
    run_id: str,
    state: TrainState,
    telemetry: Telemetry | None,
    wall: float,
    live: Any = None,
    extra: dict[str, Any] | None = None,
    evaluate: Sequence[str] = SPLITS,
) -> RunResult:
    """Evaluate a trained run on every split (or those in ``evaluate``, deferring the rest)
    and finish its record (weights, telemetry, evaluation, metrics, status)."""
    cfg, data, model = built.config, built.data, built.model
    # One forward pass per split gives the headline metrics and the full evaluation
    # report; the test split is evaluated here, once, after training.
    full = set(SPLITS) <= set(evaluate) or not deferrable(cfg, built.notes)
    splits = SPLITS if full else tuple(s for s in SPLITS if s in evaluate)
    metrics, reports = evaluate_splits(model, data, built.loss_fn, built.output_activation,
                                       splits, reports_too=full)  # fmt: skip
    store.save_weights(run_id, model.state_dict())
    if telemetry is not None:
        store.save_json(run_id, "telemetry.json", telemetry.to_json(model), indent=None)
    if not full:
        extra = {**(extra or {}), DEFERRED: [s for s in SPLITS if s not in splits]}
    elif state.status != "diverged":
        store.save_json(run_id, "evaluation.json", reports)
    if state.resumed_from:
        state.info["resumed_from_epoch"] = state.resumed_from
    if live is not None:
        state.info["log_to_warnings"] = live.warnings  # the same list: finish() adds to it
    extra = {"diverged_at": state.diverged_at, **state.info, **built.notes, **(extra or {})}
    store.finish_run(run_id, state.status, metrics, wall, state.stop_reason, extra)
    if live is not None:  # after the record is complete: it is what the trackers get
        warned = len(live.warnings)
        if len(live.finish()) > warned:
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
        notes={
            **built.notes,
            **state.info,
            **({"diverged_at": state.diverged_at} if state.diverged_at else {}),
            **({"data": data.report} if data.report else {}),
        },
    )


def _watch(cfg: Config, data: DataBundle, bar: ProgressBar | None) -> Watch:
    """Live diagnosis; with a progress display, one warning line per new finding."""
    from hone.text import set_args

    def warn(entry: dict[str, Any]) -> None:
        assert bar is not None
        fix = entry["prescription"]
        bar.note(f"epoch {entry['epoch']}: {entry['code']} ({entry['severity']}): {entry['title']}")
        if fix:
            bar.note(f"  try: {set_args(fix['patch'])}")

    watch = cfg.train.watch
    assert watch is not None
    meta = {"task": data.task, "classes": data.classes, "stats": data.stats()}
    on_finding = warn if bar is not None else None
    if watch.every_steps is not None:
        from hone.train.callbacks.watch import StepWatch

        return StepWatch(cfg.to_dict(), meta, 1, watch.stop_on, watch.patience, on_finding,
                         watch.stop_within, steps=watch.every_steps)  # fmt: skip
    return Watch(cfg.to_dict(), meta, int(watch.every), watch.stop_on, watch.patience,
                 on_finding, watch.stop_within)  # fmt: skip


def _new_run(store: RunStore, built: BuiltRun) -> str:
    cfg, data = built.config, built.data
    run_id = store.create_run(cfg.name, cfg.to_dict(), cfg.seed)
    store.save_json(
        run_id,
        "data.json",
        {
            "classes": data.classes,
            "task": data.task,
            "input_shape": list(data.input_shape),
            "preprocess": data.preprocess,
            "stats": data.stats(),
            "report": data.report,
            "model": built.notes.get("model"),  # your own module's class, when it was one
        },
    )
    return run_id


def own_model_of(run_id: str, extra: dict[str, Any], store: str | Path | None) -> Any:
    """The class of the user's own module a run trained, else ``None`` (also for runs killed
    before their record was finished: ``data.json`` is written when the run starts)."""
    if extra.get("model"):
        return extra["model"]
    with RunStore(store) as rs:
        return _data_json(rs, run_id).get("model")


def _data_json(rs: RunStore, run_id: str) -> dict[str, Any]:
    """The run's ``data.json``, or nothing when it is missing or not an object."""
    if not (rs.run_dir(run_id) / "data.json").is_file():
        return {}
    meta = rs.load_json(run_id, "data.json")
    return meta if isinstance(meta, dict) else {}


def _record_failure(
    store: RunStore,
    run_id: str,
    model: nn.Module,
    telemetry: Telemetry | None,
    seconds: float,
    exc: BaseException,
) -> None:
    """Keep what can be kept of a run that failed (a bug, a full disk, a read-only store):
    each step on its own, so one that fails again does not stop the others."""
    import sqlite3

    message = str(exc) if isinstance(exc, HoneError) else repr(exc)
    steps: list[Callable[[], object]] = [lambda: store.save_weights(run_id, model.state_dict())]
    if telemetry is not None:
        steps.append(
            lambda: store.save_json(run_id, "telemetry.json", telemetry.to_json(model), indent=None)
        )
    steps.append(lambda: store.finish_run(run_id, "failed", {}, seconds, message[:500]))
    for step in steps:
        with contextlib.suppress(HoneError, OSError, sqlite3.Error):
            step()


def final_metrics(built: BuiltRun) -> dict[str, float]:
    """Loss and accuracy on each split in eval mode (what a run records at its end)."""
    return evaluate_splits(built.model, built.data, built.loss_fn, built.output_activation,
                           SPLITS)[0]  # fmt: skip
