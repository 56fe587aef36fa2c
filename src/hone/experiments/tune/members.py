"""A trial as a member of a stack: asked, built and recorded as its own run when it joins;
recorded, settled and told to Optuna the moment it ends (``hone.experiments.tune.stacked``).

A member's run is the run the trial would have alone (same config, same record, the same
callbacks: history, checkpoints, telemetry, live diagnosis, Optuna's report each epoch), with
``stacked`` in its record naming its stack's width.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import optuna

from hone.assemble import BuiltRun, build_run
from hone.config import Config, load_config
from hone.data import DataBundle
from hone.diagnose.watch import Watch
from hone.errors import Terminated
from hone.experiments.tune.space import ParamSpec
from hone.experiments.tune.trials import (
    ReportToTrial,
    RunFailed,
    TrialRun,
    claim,
    judged_on,
    settle,
    trial_overrides,
)
from hone.runs.record import new_run, record_failure, record_trained, recorders
from hone.runs.stacking import member, stack_key
from hone.store.runstore import RunStore
from hone.train.callbacks import Callback, Checkpoint
from hone.train.stacked import Member
from hone.train.stacked_telemetry import MemberTelemetry
from hone.train.state import TrainState

__all__ = ["Asked", "TrialMember", "ask_trial", "tell", "tell_failed"]


@dataclass
class Asked:
    """A trial Optuna proposed, with the config it trains and its stack key."""

    trial: optuna.Trial
    config: Config
    key: str


def ask_trial(study: optuna.Study, base: dict[str, Any], specs: list[ParamSpec],
              diagnosis: bool) -> Asked:  # fmt: skip
    """Ask ``study`` for a trial; its config (a bad combination is told FAIL, then raised)."""
    trial = study.ask()
    claim(trial)
    try:
        patch = {s.key: s.suggest(trial) for s in specs}
        config = load_config(base, trial_overrides(base, trial.number, patch, None, diagnosis))
    except BaseException:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    return Asked(trial, config, stack_key(config))


def tell(study: optuna.Study, trial: optuna.Trial, value: float | None = None,
         state: optuna.trial.TrialState | None = None) -> bool:  # fmt: skip
    """``study.tell``; ``False`` when the sampler wants the study to stop (the grid sampler
    does when its grid is done, through ``study.stop``, which only ``optimize`` can take:
    the trial is told all the same, before the sampler is)."""
    try:
        study.tell(trial, value, state=state)
    except RuntimeError as exc:
        if "Study.stop" not in str(exc):
            raise
        return False
    return True


class TrialMember:
    """One trial's run while it trains in a stack of ``width``: ``member`` joins the stack,
    ``finish`` records and tells how it ended (once)."""

    def __init__(self, asked: Asked, data: DataBundle, store: RunStore, metric: str,
                 width: int) -> None:  # fmt: skip
        self.asked, self.store, self.metric, self.width = asked, store, metric, width
        self.built: BuiltRun = build_run(asked.config, data)
        self.run_id = new_run(store, self.built)
        self.telemetry: MemberTelemetry | None = None
        tel = asked.config.telemetry
        if tel.enabled:
            self.telemetry = MemberTelemetry(tel.per_epoch, init_batch=data.train.x[:512])
        self.report = ReportToTrial(asked.trial, metric)
        self.started = time.perf_counter()
        self.told = False
        self.stop_study = False  # the sampler has nothing more to propose

    def callbacks(self) -> list[Callback]:
        """The run's callbacks, and Optuna's report; time budgets are the stack's, so each
        member gets its share."""
        b = self.built
        cbs: list[Callback] = [*b.callbacks, *recorders(b, self.store, self.run_id,
                                                         self.telemetry), self.report]  # fmt: skip
        for cb in cbs:
            if isinstance(cb, Watch):
                cb.share = 1 / self.width
            if isinstance(cb, Checkpoint):  # a short trial among many: no checkpoint
                cb.min_seconds *= self.width  # before the stack trained this long
                cb.wait_first()
        return cbs

    def member(self) -> Member:
        return member(self.built, self.callbacks())

    def finish(self, state: TrainState, study: optuna.Study) -> str:
        """Record the run, settle the trial and tell Optuna; its state's name (``complete``,
        ``pruned``, ``fail``, ``interrupted``, or ``terminated``: by SIGTERM)."""
        self.told = True
        wall = (time.perf_counter() - self.started) / self.width
        note = {"stacked": {"members": self.width, "trial": self.asked.trial.number}}
        result = record_trained(self.built, self.store, self.run_id, state, self.telemetry, wall,
                                extra=note, evaluate=judged_on(self.metric))  # fmt: skip
        ended = TrialRun(result.run_id, result.status, result.message, result.metrics,
                         result.epochs_run, self.report.pruned)  # fmt: skip
        trial, states = self.asked.trial, optuna.trial.TrialState
        value, state_told, how = None, states.COMPLETE, "complete"
        try:
            value = settle(trial, ended, self.metric, self.store)
        except optuna.TrialPruned:
            state_told, how = states.PRUNED, "pruned"
        except RunFailed:
            state_told, how = states.FAIL, "fail"
        except KeyboardInterrupt as exc:  # not evidence either way; the study stops
            state_told = states.FAIL
            how = "terminated" if isinstance(exc, Terminated) else "interrupted"
        self.stop_study = not tell(study, trial, value, state_told)
        return how

    def fail(self, exc: BaseException, study: optuna.Study) -> None:
        """The stack broke (a bug, a full disk): keep what can be kept, tell FAIL."""
        if self.told:
            return
        self.told = True
        record_failure(self.store, self.run_id, self.built.model, self.telemetry,
                       time.perf_counter() - self.started, exc)  # fmt: skip
        study.tell(self.asked.trial, state=optuna.trial.TrialState.FAIL)


def tell_failed(asked: list[Asked], study: optuna.Study) -> None:
    """Trials asked but never trained (the study stopped first) end as FAIL, marked ``not
    started`` (a summary counts them apart from trials that failed)."""
    for a in asked:
        a.trial.set_user_attr("status", "not started")
        study.tell(a.trial, state=optuna.trial.TrialState.FAIL)
