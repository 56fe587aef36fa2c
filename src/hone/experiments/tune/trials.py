"""One trial: its run started with the trial's parameters, its metric reported to Optuna every
epoch (so pruners can stop it), and how the run ended settled on the trial."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from hone.config import load_config
from hone.errors import Terminated
from hone.experiments.tune.space import ParamSpec
from hone.progress import Pulse
from hone.runs.train import run, run_in
from hone.store import RunStore
from hone.store.owner import current_owner, is_alive
from hone.train.callbacks import Callback, Pulses
from hone.train.state import TrainState

__all__ = [
    "ReportToTrial",
    "RunFailed",
    "TrialRun",
    "claim",
    "fail_abandoned",
    "judged_on",
    "objective",
    "settle",
    "trial_overrides",
]


def claim(trial: optuna.Trial) -> None:
    """Record which process trains ``trial``, so a study resumed after that process was
    killed (kill -9, a crash) can tell its trial is not running any more."""
    owner = current_owner()
    trial.set_user_attr("owner", {"pid": owner.pid, "host": owner.host, "started": owner.started})


def fail_abandoned(study: optuna.Study) -> int:
    """Trials left RUNNING by a process that is gone end as FAIL, marked ``killed`` (they
    stayed RUNNING for ever, out of every count, and TPE's constant liar kept reading them
    as bad results). Another live process's trials (``--jobs``, another host) are left."""
    gone = 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        owner = t.user_attrs.get("owner")
        if not isinstance(owner, dict) or is_alive(owner.get("pid"), owner.get("host"),
                                                   owner.get("started"), None):  # fmt: skip
            continue
        trial = optuna.trial.Trial(study, t._trial_id)
        trial.set_user_attr("status", "killed")
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        gone += 1
    return gone


class ReportToTrial(Callback):
    """Reports the metric to Optuna each epoch; stops the run when the pruner says so."""

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        self.trial, self.metric, self.pruned = trial, metric, False
        self.epoch = 0  # the last epoch the run finished (a stack reads how far it is)
        # Asking a pruner that never prunes reads the trial back from the storage each epoch
        # (a journal file is re-read): 23 us of the 52 us a report took (measured).
        self.may_prune = not isinstance(trial.study.pruner, optuna.pruners.NopPruner)

    def on_epoch_end(self, state: TrainState) -> None:
        self.epoch = state.epoch
        value = state.logs.get(self.metric)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(value, state.epoch)
        # a trial that trained every epoch is complete: pruning it there saves nothing
        last = state.epoch >= state.epochs
        if self.may_prune and not last and self.trial.should_prune():
            self.pruned = True
            state.stop_training = True
            state.stop_reason = f"pruned by Optuna at epoch {state.epoch}"


def _mark_pruned(store: RunStore, run_id: str, message: str) -> None:
    """A pruned trial's run ended early on purpose: ``stopped``, not ``completed``."""
    store.set_status(run_id, "stopped", message or "pruned by Optuna")


class RunFailed(Exception):
    """A trial whose run diverged or was interrupted (recorded by Optuna as FAIL)."""


@dataclass
class TrialRun:
    """How a trial's run ended (from ``hone.run`` here, or from a Ray task)."""

    run_id: str
    status: str
    message: str
    metrics: dict[str, Any]
    epochs_run: int
    pruned: bool  # stopped by Optuna's pruner on the metric


def trial_overrides(
    base: dict[str, Any], number: int, patch: dict[str, Any], threads: int | None, diagnosis: bool
) -> dict[str, Any]:
    """The dotted overrides a trial's run is started with."""
    overrides: dict[str, Any] = {**patch, "name": f"{base['name']}/trial{number}"}
    if threads:
        overrides["train.threads"] = threads
    if diagnosis:  # a critical live finding stops the run; the trial counts as pruned
        watch = (base.get("train") or {}).get("watch") or {}
        overrides["train.watch"] = {**watch, "stop_on": "critical"}
    return overrides


def settle(trial: optuna.Trial, run: TrialRun, metric: str, store: RunStore) -> float:
    """Record on ``trial`` how its run ended; its value, or raise ``TrialPruned``,
    ``RunFailed`` (diverged, failed) or ``KeyboardInterrupt`` (the run was interrupted)."""
    trial.set_user_attr("run_id", run.run_id)
    by_watch = run.status == "stopped" and run.message.startswith("watch: ")
    trial.set_user_attr("status", "pruned" if run.pruned or by_watch else run.status)
    if run.status == "interrupted":  # stop the study; the trial is not evidence either way
        raise Terminated if "SIGTERM" in run.message else KeyboardInterrupt
    if by_watch:  # "watch: CODE at epoch N: title"
        trial.set_user_attr("pruned_by", run.message.split()[1])
        trial.set_user_attr("pruned_epoch", run.epochs_run)
        raise optuna.TrialPruned()
    if run.pruned:
        trial.set_user_attr("pruned_by", "metric")
        trial.set_user_attr("pruned_epoch", run.epochs_run)
        _mark_pruned(store, run.run_id, run.message)
        raise optuna.TrialPruned()
    if run.status != "completed" or metric not in run.metrics:
        raise RunFailed(f"run {run.run_id} {run.status}: {run.message}")
    return float(run.metrics[metric])


def judged_on(metric: str) -> tuple[str]:
    """The split a trial's run evaluates when it ends: the one its metric is on. The others
    (and the full reports) wait until someone reads the run (``hone.runs.deferred``)."""
    return (metric.split("_", 1)[0],)


def objective(
    base: dict[str, Any],
    specs: list[ParamSpec],
    metric: str,
    store: RunStore,
    threads: int | None,
    diagnosis: bool = False,
    pulse: Callable[[Pulse], None] | None = None,
) -> Callable[[optuna.Trial], float]:
    """Optuna's objective: each trial one recorded run of ``base`` with its parameters, in
    ``store`` (open for the whole study; ``pulse``: where a live display learns how far each
    trial's run is)."""

    def trial_value(trial: optuna.Trial) -> float:
        claim(trial)
        patch = {s.key: s.suggest(trial) for s in specs}
        overrides = trial_overrides(base, trial.number, patch, threads, diagnosis)
        report = ReportToTrial(trial, metric)
        callbacks = [report, *([Pulses(pulse, f"trial {trial.number}")] if pulse else [])]
        cfg = load_config(base, overrides).model_copy(update={"store": str(store.root)})
        if cfg.train.ensemble is not None:  # members and their ensemble: hone.run's way
            result = run(cfg, callbacks=callbacks, evaluate=judged_on(metric))
        else:
            result = run_in(store, cfg, callbacks=callbacks, evaluate=judged_on(metric))
        ended = TrialRun(result.run_id, result.status, result.message, result.metrics,
                         result.epochs_run, report.pruned)  # fmt: skip
        return settle(trial, ended, metric, store)

    return trial_value
