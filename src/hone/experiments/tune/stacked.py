"""Stacked trials (``hone tune --stack auto``): K trials of a study train as one stacked model.

Optuna is asked for trials one at a time, as always; each goes to a pool by its stack key
(``hone.runs.stacking.stack_key``: trials that differ only in per-member numbers share a key,
those that change shapes or step counts do not). The sampler keeps being asked until one
key has a full stack of ``size`` trials, the study's trial budget is asked for, or
``ASK_SECONDS`` pass; the fullest key then trains as one stacked model. Each member reports
to Optuna every epoch and is told its result the moment it ends; a member that a pruner
stops is frozen and masked like an early-stopped one, and (``refill``) its slot takes a new
trial of the same key at the next epoch boundary, so a stack keeps its width.

The first stack of a study is no wider than the sampler's random start-up (TPE's
``n_startup_trials``), so the model-based search begins after as many trials as it would one
trial at a time. TPE runs with ``constant_liar`` (``samplers.make_sampler``): trials asked
while others run are told apart from those.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import optuna

from hone.assemble import build_run, load_run_data
from hone.config import Config
from hone.data import DataBundle
from hone.experiments.tune.members import Asked, TrialMember, ask_trial, tell_failed
from hone.experiments.tune.samplers import TPE_STARTUP
from hone.experiments.tune.space import ParamSpec
from hone.nn.stack import unstackable
from hone.runs.stacking import CPU_WORK_LIMIT, stack_runs, why_not_stacked
from hone.store.runstore import RunStore
from hone.train.stacked import Member

__all__ = ["ASK_SECONDS", "StackedStudy", "stack_size", "tune_stacked"]

ASK_SECONDS = 1.0  # how long the sampler is asked for trials to fill a stack
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
    device = data.train.x.device.type
    if requested:
        return requested, None
    if device == "cpu" and work > CPU_WORK_LIMIT:
        return 0, f"{work:,} multiply-adds a step: on a CPU stacking trials does not pay"
    limit = GPU_STACK_WORK if device == "cuda" else CPU_STACK_WORK
    return max(2, min(MAX_SIZE.get(device, 32), limit // max(1, work))), None


def tune_stacked(study: optuna.Study, base: Config, specs: list[ParamSpec], metric: str,
                 store: str, trials: int, size: int | None, diagnosis: bool, refill: bool,
                 report: Callable[..., None]) -> str | None:  # fmt: skip
    """Run ``trials`` more trials of ``study`` in stacks; or, when they cannot stack (or
    should not: a model too big for a CPU), run nothing and say why."""
    k, why = stack_size(base, load_run_data(base), size)
    if not k:
        return why
    study.set_user_attr("stacked", {"size": k, "refill": refill})
    with RunStore(store) as rs:
        StackedStudy(study, base, specs, metric, rs, k, diagnosis, refill, report).run(trials)
    return None


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
        self.asked = 0  # trials asked by this run of the study
        self.interrupted = False
        self.data: dict[str, DataBundle] = {}
        tpe = isinstance(study.sampler, optuna.samplers.TPESampler)
        self.startup = TPE_STARTUP if tpe else 0
        self.first = not any(t.state.is_finished() for t in study.get_trials(deepcopy=False))

    def run(self, trials: int) -> None:
        self.trials = trials
        try:
            while self.asked < trials or any(self.pool.values()):
                # The start-up stack: as many random trials as the sampler wants before it
                # models the study, not refilled (the next stacks are drawn from its model).
                startup = self.first and self.startup > 0
                width = min(self.size, self.startup) if startup else self.size
                self.first = False
                key = self._fill(width)
                if key is None:
                    break
                group = self.pool[key][:width]
                del self.pool[key][:width]
                self._train(group, width, self.refill and not startup)
                if self.interrupted:
                    raise KeyboardInterrupt
        finally:
            tell_failed([a for group in self.pool.values() for a in group], self.study)
            self.pool.clear()

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
            if self.pool and time.perf_counter() - started > ASK_SECONDS:
                break
            self._ask()
        full = [k for k, group in self.pool.items() if group]
        return max(full, key=lambda k: len(self.pool[k])) if full else None

    def _data(self, config: Config) -> DataBundle:
        key = config.data.model_dump_json()
        if key not in self.data:
            self.data[key] = load_run_data(config)
        return self.data[key]

    def _train(self, group: list[Asked], width: int, refill: bool) -> None:
        """Train ``group`` as one stack (refilled from its key's pool while trials remain)."""
        data = self._data(group[0].config)
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

    def finished(self, trial_member: TrialMember, state: Any) -> None:
        how = trial_member.finish(state, self.study)
        self.interrupted = self.interrupted or how == "interrupted"
        self.report()


class _Feed:
    """The ``Refill`` of one stack: records members as they end, takes new trials of the
    same key for their slots while the budget lasts."""

    def __init__(self, study: StackedStudy, slots: dict[int, TrialMember], key: str,
                 data: DataBundle, width: int, refill: bool) -> None:  # fmt: skip
        self.study, self.slots, self.key, self.data, self.width = study, slots, key, data, width
        self.refill = refill

    def ended(self, k: int, member: Member) -> None:
        self.study.finished(self.slots[k], member.state)

    def next(self, k: int) -> Member | None:
        s = self.study
        if not self.refill or s.interrupted:
            return None
        pool = s.pool.setdefault(self.key, [])
        started = time.perf_counter()
        while not pool and s.asked < s.trials and time.perf_counter() - started < ASK_SECONDS:
            s._ask()  # trials of other keys wait in the pool for a stack of their own
        if not pool:
            return None
        trial_member = TrialMember(pool.pop(0), self.data, s.store, s.metric, self.width)
        self.slots[k] = trial_member
        return trial_member.member()
