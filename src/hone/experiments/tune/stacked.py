"""Stacked trials (``hone tune --stack auto``): K trials of a study train as one stacked model.

Optuna is asked for trials one at a time, as always; each goes to a pool by its stack key
(``hone.runs.stacking.stack_key``: trials that differ only in per-member numbers share a key,
those that change shapes or step counts do not). The sampler keeps being asked until one
key has a full stack of ``size`` trials, the study's trial budget is asked for, or
``ASK_SECONDS`` pass; the fullest key then trains as one stacked model. Each member reports
to Optuna every epoch and is told its result the moment it ends; a member that a pruner
stops is frozen and masked like an early-stopped one, and (``refill``) its slot takes a new
trial of the same key at the next epoch boundary, so a stack keeps its width, where that is
cheap: while the stack has at least half a trial's epochs still to train anyway (or what
the study has left to train fits the free slots). A slot freed late is left idle: a new
trial there would keep a stack of mostly finished members stepping for most of its epochs,
and the next stack, made when this one ends, is proposed on more finished trials (measured
on the moons benchmark's study seed 8, where early members diverge: a 20-wide stack
refilled to the study's end took 3.0-3.3 s, the study 4.7-5.2 s; with refills only while
cheap, that stack 1.2-1.4 s and the next, of 23, 1.0 s: the study 3.8-3.9 s).

A model-based sampler (TPE) learns from each result, so asking it for many trials at once
would make it propose on less knowledge than one trial at a time: measured on a smooth
objective, 40-trial studies with stacks of 32 found clearly worse values and proposed a
different distribution. So with TPE at most ``LIE_SHARE`` as many trials are in flight as
the study has finished (after its random start-up, whose ``n_startup_trials`` train as one
stack): stacks grow as the study learns (10, 10, 20, 32, ...), and each trial is proposed on
at least half of what a sequential study would know. (A share of 0.5 gave stacks of 10, 5,
7, 11, 16, 24, ... and two thirds the speed of random search; 1.0 keeps the proposals and the best
values statistically the same as one trial at a time: ``tests/experiments/test_tune.py`` and
``benchmarks/stacked_tune.py``, where stacks filled at once do not.) TPE runs with
``constant_liar`` (``samplers.make_sampler``): a trial asked while others run treats them as
bad results, so it is not proposed on top of them. Samplers that do not learn from results
(random, QMC, grid) and CMA-ES (whose generations are batches) fill stacks at once.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

import optuna
import torch

from hone.assemble import build_run, load_run_data
from hone.config import Config
from hone.data import DataBundle
from hone.errors import ConfigError, Terminated
from hone.experiments.tune.members import Asked, TrialMember, ask_trial, tell, tell_failed
from hone.experiments.tune.samplers import TPE_STARTUP
from hone.experiments.tune.space import ParamSpec
from hone.experiments.tune.trials import RunFailed, objective
from hone.nn.stack import unstackable
from hone.runs.stacking import CPU_WORK_LIMIT, stack_runs, why_not_stacked
from hone.store.runstore import RunStore
from hone.train.stacked import Member

__all__ = [
    "ASK_SECONDS",
    "StackedStudy",
    "check_stack_size",
    "refill_is_cheap",
    "stack_size",
    "tune_stacked",
]

ASK_SECONDS = 1.0  # how long the sampler is asked for trials to fill a stack
LIE_SHARE = 1.0  # TPE: trials in flight at most this share of the trials finished
# Multiply-adds per step (batch x parameters, summed over members) a stack may reach: on a
# CPU the per-step overhead, not arithmetic, is what stacking saves; on a GPU far more fits.
CPU_STACK_WORK, GPU_STACK_WORK = 2_000_000, 2_000_000_000
MAX_SIZE = {"cpu": 32, "cuda": 256}


def stack_size(base: Config, data: DataBundle, requested: int | None) -> tuple[int, str | None]:
    """How many trials one stack trains (``requested``, or from the model's size and the
    device), or 0 and why trials train one by one."""
    why = why_not_stacked([base, base], trials=True)
    if why is not None:
        return 0, why
    built = build_run(base, data)
    why = unstackable(built.model)
    if why is not None:
        return 0, why
    batch = len(data.train) if base.train.batch_size == "full" else base.train.batch_size
    work = batch * sum(p.numel() for p in built.model.parameters())
    device = built.data.train.x.device.type
    if requested:
        return requested, None
    if device == "cpu" and work > CPU_WORK_LIMIT:
        return 0, f"{work:,} multiply-adds a step: on a CPU stacking trials does not pay"
    limit = GPU_STACK_WORK if device == "cuda" else CPU_STACK_WORK
    return max(2, min(MAX_SIZE.get(device, 32), limit // max(1, work))), None


def check_stack_size(stack: str, size: int | None) -> None:
    """``--stack-size`` is a positive count, and only with ``--stack auto``."""
    if size is None:
        return
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"--stack-size: {size!r} is not a count of trials; give 1 or more")
    if stack == "off":
        raise ConfigError("--stack-size: trials train one by one with --stack off; drop one")


def tune_stacked(study: optuna.Study, base: Config, specs: list[ParamSpec], metric: str,
                 store: str, trials: int, size: int | None, diagnosis: bool, refill: bool,
                 report: Callable[..., None]) -> str | None:  # fmt: skip
    """Run ``trials`` more trials of ``study`` in stacks; or, when they cannot stack (or
    should not: a model too big for a CPU), run nothing and say why."""
    data = load_run_data(base)
    k, why = stack_size(base, data, size)
    if not k:
        return why
    study.set_user_attr("stacked", {"size": k, "refill": refill})
    with RunStore(store) as rs:
        stacked = StackedStudy(study, base, specs, metric, rs, k, diagnosis, refill, report)
        stacked.data[base.data.model_dump_json()] = data
        stacked.requested = size
        stacked.run(trials)
    return None


def refill_is_cheap(epochs: int, left: int, waiting: int, free: int) -> bool:
    """Whether a new trial of ``epochs`` in a free slot costs little: the stack's live
    members keep it stepping ``left`` more epochs anyway, at least half the new trial's; or
    the ``waiting`` trials the study has left fit the ``free`` slots now (a stack of their
    own would cost all their epochs)."""
    return 2 * left >= epochs or waiting <= free


class StackedStudy:
    """Runs ``trials`` more trials of ``study`` in stacks (see the module docstring)."""

    def __init__(self, study: optuna.Study, base: Config, specs: list[ParamSpec], metric: str,
                 store: RunStore, size: int, diagnosis: bool, refill: bool,
                 report: Callable[..., None]) -> None:  # fmt: skip
        self.study, self.base, self.specs, self.metric = study, base, specs, metric
        self.base_dict = base.to_dict()
        self.store, self.size, self.diagnosis, self.refill = store, size, diagnosis, refill
        self.report = report
        self.pool: dict[str, list[Asked]] = {}
        self.asked = self.told = 0  # trials asked and told by this run of the study
        self.interrupted: str | None = None  # how a member was stopped: interrupted | terminated
        self.data: dict[str, DataBundle] = {}
        self.learns = isinstance(study.sampler, optuna.samplers.TPESampler)
        self.requested: int | None = None  # --stack-size
        self.sizes: dict[str, tuple[int, str | None]] = {}  # per key: its stack size or why not
        self.finished_before = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))

    def in_flight_limit(self) -> int:
        """How many trials may be asked and not yet told (see the module docstring)."""
        if not self.learns:
            return self.size
        finished = self.finished_before + self.told
        return max(1, min(self.size, max(TPE_STARTUP - finished, int(finished * LIE_SHARE))))

    def run(self, trials: int) -> None:
        # A grid's points are proposed before any is told, so past its last point it would
        # propose points again (one at a time, Optuna stops a grid after a tell).
        self.trials = min(trials, self._grid_left())
        try:
            while self.asked < self.trials or any(self.pool.values()):
                width = min(self.size, self.in_flight_limit())
                key = self._fill(width)
                if key is None:
                    break
                group = self.pool[key][:width]
                del self.pool[key][:width]
                self._train(group, self.refill)
                if self.interrupted:
                    raise Terminated if self.interrupted == "terminated" else KeyboardInterrupt
        finally:
            tell_failed([a for group in self.pool.values() for a in group], self.study)
            self.pool.clear()

    def _grid_left(self) -> int:
        """The grid points no trial has taken (any count for other samplers)."""
        if not isinstance(self.study.sampler, optuna.samplers.GridSampler):
            return 2**62
        size = math.prod(len(s.grid_values()) for s in self.specs)
        trials = self.study.get_trials(deepcopy=False)
        taken = {json.dumps(t.params, sort_keys=True) for t in trials if t.params}
        return max(0, size - len(taken))

    def _ask(self) -> Asked:
        asked = ask_trial(self.study, self.base_dict, self.specs, self.diagnosis)
        self.asked += 1
        self.pool.setdefault(asked.key, []).append(asked)
        return asked

    def _fill(self, width: int) -> str | None:
        """Ask until a key has ``width`` trials, the budget is asked for, or time is up; the
        fullest key (``None``: nothing left)."""
        started = time.perf_counter()
        while self.asked < self.trials and max(map(len, self.pool.values()), default=0) < width:
            late = self.pool and time.perf_counter() - started > ASK_SECONDS
            if late or self.asked - self.told >= self.in_flight_limit():
                break
            self._ask()
        full = [k for k, group in self.pool.items() if group]
        return max(full, key=lambda k: len(self.pool[k])) if full else None

    def _data(self, config: Config) -> DataBundle:
        key = config.data.model_dump_json()
        if key not in self.data:
            self.data[key] = load_run_data(config)
        return self.data[key]

    def _train(self, group: list[Asked], refill: bool) -> None:
        """Train ``group`` as one stack (refilled from its key's pool while trials remain);
        one by one if its shape does not stack (or is too big to stack on a CPU)."""
        data = self._data(group[0].config)
        key = group[0].key
        if key not in self.sizes:
            self.sizes[key] = stack_size(group[0].config, data, self.requested)
        most = self.sizes[key][0]
        if not most:
            for asked in group:
                self._alone(asked)
            return
        if len(group) > most:  # a bigger shape than the base config's: fewer per stack
            self.pool.setdefault(key, [])[:0] = group[most:]
            group = group[:most]
        # The slots this stack has (a refill takes a freed one): what each member records as
        # its stack's width and divides its wall time and live-diagnosis budget by. The
        # width asked for is only an upper bound (a key with fewer trials fills fewer).
        width = len(group)
        members: list[TrialMember] = []
        slots: dict[int, TrialMember] = {}
        try:
            for k, asked in enumerate(group):
                slots[k] = TrialMember(asked, data, self.store, self.metric, width)
                members.append(slots[k])
            stack = stack_runs([m.built for m in members], force=True, memberwise=True)
            feed = _Feed(self, slots, group[0].key, data, width, refill)
            stack.fit([m.callbacks() for m in members], refill=feed)
        except BaseException as exc:
            for m in slots.values():
                m.fail(exc, self.study)
            tell_failed(group[len(members) :], self.study)
            raise

    def _alone(self, asked: Asked) -> None:
        """One trial as ``--stack off`` trains it (``trials.objective``), told here."""
        states = optuna.trial.TrialState
        value, state = None, states.COMPLETE
        train = objective(self.base_dict, self.specs, self.metric, self.store, None,
                          self.diagnosis)  # fmt: skip
        try:
            value = train(asked.trial)  # its parameters are suggested already: the same
        except optuna.TrialPruned:
            state = states.PRUNED
        except RunFailed:
            state = states.FAIL
        except BaseException:
            tell(self.study, asked.trial, state=states.FAIL)
            raise
        if not tell(self.study, asked.trial, value, state):
            self.trials = self.asked
        self.told += 1
        self.report()

    def finished(self, trial_member: TrialMember, state: Any) -> None:
        how = trial_member.finish(state, self.study)
        self.told += 1
        if how in ("interrupted", "terminated"):
            self.interrupted = self.interrupted or how
        if trial_member.stop_study:  # e.g. the grid is done: ask no more
            self.trials = self.asked
        self.report()


class _Feed:
    """The ``Refill`` of one stack: records members as they end, takes new trials of the
    same key for their slots while the budget lasts."""

    def __init__(self, study: StackedStudy, slots: dict[int, TrialMember], key: str,
                 data: DataBundle, width: int, refill: bool) -> None:  # fmt: skip
        self.study, self.slots, self.key, self.data, self.width = study, slots, key, data, width
        self.refill, self.live = refill, len(slots)
        # every trial of the key trains these (epochs change step counts: they make the key)
        self.epochs = _epochs(next(iter(slots.values())))

    def ended(self, k: int, member: Member) -> None:
        self.live -= 1
        self.study.finished(self.slots[k], member.state)

    def _cheap(self) -> bool:
        s = self.study
        live = [m for m in self.slots.values() if not m.told]
        left = max((_epochs(m) - m.report.epoch for m in live), default=0)
        waiting = s.trials - s.asked + len(s.pool.get(self.key, []))
        return refill_is_cheap(self.epochs, left, waiting, len(self.slots) - len(live))

    def next(self, k: int) -> Member | None:
        """A new trial for slot ``k`` while others still train, where that is cheap (once
        all have ended, the next stack is made as wide as the study may then be)."""
        s = self.study
        if not self.refill or s.interrupted or not self.live or not self._cheap():
            return None
        pool = s.pool.setdefault(self.key, [])
        started = time.perf_counter()
        while not pool and s.asked < s.trials and time.perf_counter() - started < ASK_SECONDS:
            if s.asked - s.told >= s.in_flight_limit():
                return None
            s._ask()  # trials of other keys wait in the pool for a stack of their own
        if not pool:
            return None
        threads = torch.get_num_threads()  # building a run sets them for a run alone
        trial_member = TrialMember(pool.pop(0), self.data, s.store, s.metric, self.width)
        torch.set_num_threads(threads)
        self.slots[k] = trial_member
        self.live += 1
        return trial_member.member()


def _epochs(trial_member: TrialMember) -> int:
    """The epochs a trial trains at most."""
    return trial_member.built.config.train.epochs
