"""Running an experiment's pending runs: here, in ``--jobs`` worker processes or on a Ray
cluster, the seeds of each variant stacked into one model where they can be; each finished
run linked to the experiment as it ends.

Ctrl-C (or SIGTERM) stops the whole experiment, not one run: the run in progress is recorded
``interrupted`` (never linked, so never counted as evidence), the experiment is marked
``interrupted`` and ``ExperimentInterrupted`` tells the caller how to resume.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from hone.cluster.backend import Backend
from hone.cluster.processes import interrupt_workers, local_pool, start_method
from hone.config import Config, load_config
from hone.errors import ConfigError, Interrupted, Terminated
from hone.experiments.compare.on_ray import run_on_ray
from hone.experiments.compare.plan import FINAL, Progress, Unit, pending_runs, tell_once, unit_label
from hone.progress import Pulse, Pulsing
from hone.runs.stacking import check_stack, stack_key, why_not_stacked
from hone.runs.unit import PulseSink, train_unit
from hone.store.runstore import RunStore

__all__ = ["ExperimentInterrupted", "run_pending"]


class ExperimentInterrupted(Interrupted):
    """Ctrl-C or SIGTERM stopped an experiment; what finished is recorded."""

    def __init__(self, exp_id: str, command: str = "compare", sigterm: bool = False) -> None:
        self.exp_id = exp_id
        super().__init__(
            f"experiment {exp_id} interrupted; finished runs are kept. Resume with: "
            f"hone {command} --resume {exp_id}",
            sigterm,
        )


MAX_WIDTH = 32  # members in one stack of several variants: past this, memory, not speed, grows


def stack_units(
    todo: Unit, stack: str, say: Callable[[str], None] | None, across: bool = True
) -> list[Unit]:
    """Group each variant's seeds into one stacked unit where they can be (``stack: auto``);
    say once why a variant's seeds run one by one. ``across``: variants that differ only in
    per-member numbers (learning rate, L2, dropout rate, ...: ``stack_key``) share one stack
    too, as stacked trials do, at most ``MAX_WIDTH`` members (a variant's seeds kept
    together)."""
    if stack == "off":
        return [[job] for job in todo]
    config = {(name, seed): load_config(cfg) for name, seed, cfg in todo}  # each read once
    variants: dict[str, Unit] = {}
    for job in todo:
        variants.setdefault(job[0], []).append(job)
    units: list[Unit] = []
    told: set[str] = set()
    pending = list(variants.values())
    if across:
        pending = []
        for groups in _across(list(variants.values()), config):
            joined = [job for group in groups for job in group]
            configs = [config[name, seed] for name, seed, _ in joined]
            if len(groups) > 1 and why_not_stacked(configs, trials=True) is None:
                units.append(joined)
            else:
                pending.extend(groups)
    for group in pending:
        configs = [config[name, seed] for name, seed, _ in group]
        why = why_not_stacked(configs) if len(group) > 1 else None
        if len(group) > 1 and why is None:
            units.append(group)
            continue
        units.extend([job] for job in group)
        tell_once(say, told, group, why)
    return units


def _across(groups: list[Unit], config: dict[tuple[str, int], Config]) -> list[list[Unit]]:
    """Variants' seed groups put together by what a stack must share (``stack_key``), at
    most ``MAX_WIDTH`` members each."""
    by_key: dict[str, list[Unit]] = {}
    for group in groups:
        by_key.setdefault(stack_key(config[group[0][0], group[0][1]]), []).append(group)
    out: list[list[Unit]] = []
    for same in by_key.values():
        current: list[Unit] = []
        for group in same:
            if current and sum(map(len, current)) + len(group) > MAX_WIDTH:
                out.append(current)
                current = []
            current.append(group)
        out.append(current)
    return out


_PULSES: Any = None  # in a --jobs worker: the queue its runs' pulses go to the parent by


def _worker_start(pulses: Any = None) -> None:
    # Between runs a worker ignores Ctrl-C and the parent stops it in order (cancel, then
    # wait); inside a run the engine's own handler records the run as interrupted.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _PULSES
    _PULSES = pulses
    if pulses is not None:
        pulses.cancel_join_thread()  # a worker never waits at exit for pulses nobody reads


def _train_in_worker(
    cfgs: list[dict[str, Any]], root: str, threads: int, labels: list[str]
) -> tuple[list[tuple[str, str]], str | None]:
    """``train_unit`` in a ``--jobs`` worker, its pulses sent to the parent."""
    sink = _PULSES.put if _PULSES is not None else None
    return train_unit(cfgs, root, threads, sink, labels)


def run_label(name: str, seed: int) -> str:
    """How progress names one run of an experiment: ``variant seed 2``."""
    return f"{name} seed {seed}"


def run_pending(
    store: RunStore,
    exp_id: str,
    jobs: int | None = 1,
    progress: Progress | None = None,
    command: str = "compare",
    runner: Callable[[dict[str, Any]], tuple[str, str]] | None = None,
    stack: str = "auto",
    say: Callable[[str], None] | None = None,
    backend: Backend | None = None,
) -> int:
    """Run every (variant, seed) of the experiment not yet linked to a completed or diverged
    run.

    ``stack: auto`` trains the seeds of each variant as one stacked model where they differ in
    the seed alone (``hone.runs.stacking``; each seed is still its own run), and says
    through ``say`` why not where they cannot. With ``jobs > 1`` units go to that many
    processes, each with ``cores // jobs`` threads so the machine is not oversubscribed.
    Returns the number of runs done now. Raises ``ExperimentInterrupted`` on Ctrl-C, after
    recording what finished. ``runner(config)`` replaces training in a fresh ``hone.run`` (a
    model or data given from Python), one at a time. ``backend`` ray sends units to a Ray
    cluster (``hone.cluster``), at most ``jobs`` at once, and records them here.
    """
    check_stack(stack)
    todo = pending_runs(store, exp_id)
    total, root = len(todo), str(store.root)
    if not todo:
        return 0
    pulse: PulseSink | None = progress.pulse if isinstance(progress, Pulsing) else None
    if progress:
        progress("", 0, total, [])  # on screen now, not when the first run ends
    try:
        if runner is not None:
            units: list[Unit] = [[job] for job in todo]
        else:
            # several processes or a cluster share the work out by variant
            across = (jobs or 1) <= 1 and (backend is None or not backend.is_ray)
            units = stack_units(todo, stack, say, across)
        if backend is not None and backend.is_ray:
            if runner is not None:
                raise ConfigError("--backend ray: a model or data given from Python trains here")
            run_on_ray(store, exp_id, units, backend, jobs, progress, say)
            return total
        jobs = jobs or 1
        if jobs <= 1 or runner is not None:
            done = 0
            told: set[str] = set()
            for unit in units:
                labels = [run_label(name, seed) for name, seed, _ in unit]
                if runner is not None:
                    results = [runner(unit[0][2])]
                else:
                    cfgs = [cfg for _, _, cfg in unit]
                    note = functools.partial(tell_once, say, told, unit)
                    results, why = train_unit(cfgs, root, None, pulse, labels, note)
                    tell_once(say, told, unit, why)
                for (name, seed, _), (run_id, status) in zip(unit, results, strict=True):
                    done += 1
                    if status in FINAL:
                        store.link_run(exp_id, name, seed, run_id)
                    if progress:
                        progress(f"{run_label(name, seed)}: {status}", done, total, [])
                stopped = [run_id for run_id, status in results if status == "interrupted"]
                if stopped:
                    raise _interrupted(store, stopped)
            return total
        _run_parallel(store, exp_id, units, jobs, progress, say, pulse)
    except KeyboardInterrupt as exc:
        store.set_experiment_status(exp_id, "interrupted")
        raise ExperimentInterrupted(exp_id, command, isinstance(exc, Terminated)) from None
    return total


def _run_parallel(
    store: RunStore,
    exp_id: str,
    units: list[Unit],
    jobs: int,
    progress: Progress | None,
    say: Callable[[str], None] | None = None,
    pulse: PulseSink | None = None,
) -> None:
    threads = max(1, (os.cpu_count() or 1) // jobs)
    told: set[str] = set()
    root, done, last = str(store.root), 0, ""
    total = sum(len(unit) for unit in units)
    # Pulses come back through a queue the parent drains while it waits.
    pulses = multiprocessing.get_context(start_method()).Queue() if pulse else None
    pool = local_pool(jobs, _worker_start, (pulses,))
    futures: dict[Future[tuple[list[tuple[str, str]], str | None]], Unit] = {
        pool.submit(_train_in_worker, [cfg for _, _, cfg in unit], root, threads,
                    [run_label(name, seed) for name, seed, _ in unit]): unit
        for unit in units
    }  # fmt: skip
    pending = set(futures)
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            _drain(pulses, pulse)
            for fut in finished:
                unit = futures[fut]
                results, why = fut.result()
                tell_once(say, told, unit, why)
                for (name, seed, _), (run_id, status) in zip(unit, results, strict=True):
                    if status in FINAL:
                        store.link_run(exp_id, name, seed, run_id)
                    done += 1
                    last = f"{run_label(name, seed)}: {status}"
            if progress:
                active = [unit_label(futures[f]) for f in pending if f.running()]
                progress(last, done, total, active)
    except KeyboardInterrupt:
        for fut in pending:
            fut.cancel()
        interrupt_workers(pool)  # runs in flight record themselves interrupted
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        if pulses is not None:
            pulses.close()


def _interrupted(store: RunStore, run_ids: list[str]) -> KeyboardInterrupt:
    """How the runs were stopped, as the exception that stops the experiment: ``Terminated``
    where a run records SIGTERM."""
    messages = [store.get_run(run_id, with_history=False).message for run_id in run_ids]
    return Terminated() if any("SIGTERM" in m for m in messages) else KeyboardInterrupt()


def _drain(pulses: Any, pulse: PulseSink | None) -> None:
    """Hand the pulses the workers sent since the last look to the display."""
    if pulses is None or pulse is None:
        return
    for _ in range(10_000):
        try:
            item = pulses.get_nowait()
        except (queue.Empty, OSError, ValueError):
            return
        if isinstance(item, Pulse):
            pulse(item)
