"""Recording a run: its folder and index row when it starts, what it records while it trains
(history, checkpoints, telemetry, the live watch), and its evaluation, weights and status
when it ends or fails. Every way of training a run (alone, stacked, as an ensemble member,
on a worker) records through these functions."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from hone.assemble import BuiltRun
from hone.config import Config
from hone.data import DataBundle
from hone.diagnose.watch import StepWatch, Watch
from hone.errors import HoneError, Terminated
from hone.evaluate.report import SPLITS, evaluate_splits
from hone.runs.deferred import DEFERRED, deferrable
from hone.runs.result import RunResult
from hone.store.runstore import RunStore
from hone.text import set_args
from hone.tracking.live import LiveLogger
from hone.train.callbacks import Callback, Checkpoint, ProgressBar, StoreRecorder, Telemetry
from hone.train.resume import capture, save_checkpoint
from hone.train.state import TrainState

__all__ = [
    "new_run",
    "record_failure",
    "record_interrupted",
    "record_trained",
    "recorders",
    "telemetry_for",
    "train_and_record",
]


def train_and_record(
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
        run_id = new_run(store, built)
    before = float(resume["elapsed"]) if resume else 0.0
    telemetry = telemetry_for(built)
    bar = ProgressBar(f"{cfg.name} {run_id[-6:]}") if progress else None
    cbs = [*recorders(built, store, run_id, telemetry, bar, before), *callbacks]
    if bar is not None:
        cbs.append(bar)
    live = None
    if cfg.log_to:
        live = LiveLogger(cfg.log_to, store, run_id)
        cbs.append(live)
    started = time.perf_counter() - before
    try:
        state = built.fit(cbs, resume=resume)
    except BaseException as exc:
        record_failure(store, run_id, model, telemetry, time.perf_counter() - started, exc)
        raise
    wall = time.perf_counter() - started
    try:
        if state.interrupt_requested and state.status != "interrupted":
            # Ctrl-C while the last epoch ended (validation, a checkpoint): training is
            # done, so the run stops before its final evaluation.
            signal_name = state.info.get("signal")
            raise Terminated if signal_name == "SIGTERM" else KeyboardInterrupt
        return record_trained(built, store, run_id, state, telemetry, wall, live, extra,
                              evaluate)  # fmt: skip
    except KeyboardInterrupt as exc:  # during the final evaluation or while saving
        return record_interrupted(built, store, run_id, state, telemetry, wall, exc)
    except BaseException as exc:
        record_failure(store, run_id, model, telemetry, wall, exc)
        raise


def telemetry_for(built: BuiltRun) -> Telemetry | None:
    """The run's telemetry callback (``telemetry: false`` turns it off)."""
    tel = built.config.telemetry
    return Telemetry(tel.per_epoch, init_batch=built.data.train.x[:512]) if tel.enabled else None


def recorders(
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
        return StepWatch(cfg.to_dict(), meta, 1, watch.stop_on, watch.patience, on_finding,
                         watch.stop_within, steps=watch.every_steps)  # fmt: skip
    return Watch(cfg.to_dict(), meta, int(watch.every), watch.stop_on, watch.patience,
                 on_finding, watch.stop_within)  # fmt: skip


def new_run(store: RunStore, built: BuiltRun) -> str:
    """Create the run's index row and folder, with ``data.json`` (what its data was)."""
    cfg = built.config
    run_id = store.create_run(cfg.name, cfg.to_dict(), cfg.seed)
    try:
        _save_data_json(store, run_id, built)
    except BaseException as exc:  # Ctrl-C, a full disk: the run ends here, recorded so
        record_failure(store, run_id, built.model, None, 0.0, exc)
        raise
    return run_id


def _save_data_json(store: RunStore, run_id: str, built: BuiltRun) -> None:
    data = built.data
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


def _how(exc: BaseException) -> str:
    return "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"


def record_failure(
    store: RunStore,
    run_id: str,
    model: nn.Module,
    telemetry: Telemetry | None,
    seconds: float,
    exc: BaseException,
) -> None:
    """Keep what can be kept of a run that failed (a bug, a full disk, a read-only store) or
    was interrupted before it trained to its end: its status and message first (a small
    write that a nearly full disk still takes), then weights and telemetry, each step on its
    own, so one that fails again does not stop the others."""
    if isinstance(exc, KeyboardInterrupt):
        status, message = "interrupted", f"interrupted by {_how(exc)} before training ended"
    else:
        status = "failed"
        message = str(exc) if isinstance(exc, HoneError) else repr(exc)
    steps: list[Callable[[], object]] = [
        lambda: store.finish_run(run_id, status, {}, seconds, message[:500]),
        lambda: store.save_weights(run_id, model.state_dict()),
    ]
    if telemetry is not None:
        steps.append(
            lambda: store.save_json(run_id, "telemetry.json", telemetry.to_json(model), indent=None)
        )
    for step in steps:
        with contextlib.suppress(HoneError, OSError, sqlite3.Error):
            step()


def record_interrupted(
    built: BuiltRun,
    store: RunStore,
    run_id: str,
    state: TrainState,
    telemetry: Telemetry | None,
    wall: float,
    exc: BaseException,
) -> RunResult:
    """A run that trained to its end and was interrupted (Ctrl-C, SIGTERM) during its final
    evaluation or while it was being saved: recorded ``interrupted`` with its weights, and a
    checkpoint that says training ended, so ``hone run --resume`` only evaluates and records
    it (the result equals a run that was never interrupted)."""
    message = (
        f"interrupted by {_how(exc)} after training, before its final evaluation was recorded; "
        "resuming it (hone run --resume, hone.resume) evaluates and records it"
    )
    checkpoint = capture(state, state.callbacks, wall)
    checkpoint["ended"] = {"status": state.status, "stop_reason": state.stop_reason,
                           "diverged_at": list(state.diverged_at or []) or None}  # fmt: skip
    extra = {**state.info, **built.notes, "checkpoint_epoch": state.epoch}
    steps: list[Callable[[], object]] = [
        lambda: save_checkpoint(store.run_dir(run_id), checkpoint),
        lambda: store.finish_run(run_id, "interrupted", {}, wall, message, extra),
        lambda: store.save_weights(run_id, built.model.state_dict()),
    ]
    for step in steps:
        with contextlib.suppress(HoneError, OSError, sqlite3.Error):
            step()
    return RunResult(
        run_id=run_id,
        status="interrupted",
        epochs_run=len(state.history.get("epoch", [])),
        metrics={},
        history=state.history,
        wall_seconds=wall,
        config=built.config,
        message=message,
        store=store.root,
        model=built.model,
        notes={**built.notes, **state.info, "checkpoint_epoch": state.epoch},
    )
