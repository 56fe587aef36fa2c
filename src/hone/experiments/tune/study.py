"""``hone tune``: a study run (or resumed) until it has the trials asked for — here, in
``--jobs`` processes sharing the study, or on Ray — then summarised, and its best config
re-run on fresh seeds.

Studies live in an Optuna storage (a journal file in the run store by default), so they
resume after a crash and several processes or machines can share one. A study resumes only with the
same search space, base config, metric and direction.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from concurrent.futures import wait
from pathlib import Path
from typing import Any, Literal

import optuna

from hone.cluster.backend import Backend
from hone.cluster.processes import interrupt_workers, local_pool
from hone.config import Config
from hone.config.names import higher_is_better
from hone.errors import ConfigError, Interrupted, Terminated
from hone.experiments.compare import plan_experiment, run_pending, summarize_experiment
from hone.experiments.tune.on_ray import tune_on_ray
from hone.experiments.tune.samplers import blind_pruner, make_pruner, make_sampler, parse_pruner
from hone.experiments.tune.space import ParamSpec
from hone.experiments.tune.stacked import check_stack_size, tune_stacked
from hone.experiments.tune.summary import TuneResult, summarize_study
from hone.experiments.tune.trials import RunFailed, fail_abandoned, objective
from hone.experiments.tune.workers import worker
from hone.experiments.variants import Variant
from hone.progress import Pulsing
from hone.store import RunStore
from hone.store.studies import default_storage, open_storage

__all__ = ["StudyInterrupted", "open_study", "rerun_best", "tune"]


class StudyInterrupted(Interrupted):
    """Ctrl-C or SIGTERM stopped a study; its finished trials are stored and it resumes by
    name."""

    def __init__(self, name: str, sigterm: bool = False) -> None:
        super().__init__(
            f"study '{name}' interrupted; finished trials are kept. Resume with the same "
            f"command and --study {name}",
            sigterm,
        )


def tune(
    base: Config,
    specs: list[ParamSpec],
    *,
    trials: int,
    metric: str,
    store: str,
    storage: str | None,
    study_name: str | None,
    sampler: str = "tpe",
    pruner: str = "median",
    jobs: int | None = 1,
    progress: Any = None,
    backend: Backend | None = None,
    stack: str = "auto",
    stack_size: int | None = None,
    refill: bool = True,
    say: Callable[[str], None] | None = None,
) -> TuneResult:
    """Run (or resume) a study until it has ``trials`` more finished trials.

    ``progress(label, done, total, running)`` is told after every trial (and, with ``jobs``,
    every second from the shared study). ``stack`` auto trains trials of one shape as one
    stacked model (``hone.experiments.tune.stacked``; ``stack_size`` members, default from
    the model and device; ``refill`` a pruned member's slot); ``say`` is told once why they
    run one by one instead. ``backend`` ray runs each trial as a Ray task while Optuna asks
    and tells here (``hone.experiments.tune.on_ray``)."""
    # Optuna logs a full traceback per failed (diverged) trial at WARNING; hone reports the
    # failed share itself.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", module="optuna.samplers._cmaes")
    check_stack_size(stack, stack_size)  # before a study is made
    diagnosis = parse_pruner(pruner)[1]  # a bad name (or a grid without steps) fails here,
    make_sampler(sampler, specs, base.seed)  # before a study is made in its name
    study, storage = open_study(base, specs, metric, store, storage, study_name)
    fail_abandoned(study)  # trials a killed process left RUNNING
    # A resumed study's sampler starts where the study is: seeded again as it was first,
    # a random sampler (and TPE's random start-up) proposed the first trials again.
    seed = base.seed + len(study.get_trials(deepcopy=False))
    report = _reporter(study, progress, trials)
    report()  # the display starts now, not when the first trial ends
    if (note := blind_pruner(pruner, metric)) is not None and say is not None:
        say(note)
    if sampler == "cmaes" and say is not None and any(s.type == "categorical" for s in specs):
        say("--sampler cmaes draws categorical parameters at random (CMA-ES models numbers "
            "only); tpe models both")  # fmt: skip
    try:
        if backend is not None and backend.is_ray:
            if stack == "auto" and say is not None:
                say("trials train one by one: on Ray each trial is a task of its own")
            study.sampler = make_sampler(sampler, specs, seed)
            study.pruner = make_pruner(pruner)
            tune_on_ray(study, specs, base, metric, store, storage, pruner, trials, jobs,
                        backend, report)  # fmt: skip
        elif (jobs or 1) <= 1:
            study.sampler = make_sampler(sampler, specs, seed)
            study.pruner = make_pruner(pruner)
            why = (
                "--stack off"
                if stack == "off"
                else tune_stacked(
                    study, base, specs, metric, store, trials, stack_size, diagnosis, refill, report
                )
            )
            if why is not None:
                if stack == "auto" and say is not None:
                    say(f"trials train one by one: {why}")
                _one_by_one(study, base, specs, metric, store, trials, diagnosis, progress, report)
        else:
            _in_processes(study, base, specs, metric, store, storage, (sampler, seed), pruner,
                          trials, jobs or 1, report, (stack, stack_size, refill))  # fmt: skip
    except KeyboardInterrupt as exc:
        raise StudyInterrupted(study.study_name, isinstance(exc, Terminated)) from None
    return summarize_study(study, specs, storage)


def open_study(
    base: Config,
    specs: list[ParamSpec],
    metric: str,
    store: str,
    storage: str | None,
    study_name: str | None,
) -> tuple[optuna.Study, str]:
    """The study (created, or loaded to resume) and its storage URL; refuses to resume a
    study that searched another space, config or metric."""
    Path(store).mkdir(parents=True, exist_ok=True)
    name = study_name or f"{base.name}-tune"
    storage = storage or default_storage(Path(store), name)
    direction: Literal["maximize", "minimize"] = (
        "maximize" if higher_is_better(metric) else "minimize"
    )
    try:
        study = optuna.create_study(
            study_name=name, storage=open_storage(storage), direction=direction,
            load_if_exists=True,
        )  # fmt: skip
    except Exception as exc:  # a bad URL, a missing driver, SQLAlchemy's errors
        raise ConfigError(f"--storage: cannot open {storage!r}: {str(exc)[:200]}") from None
    _claim_study(study, specs, base, metric, direction, explicit=study_name is not None)
    return study, storage


def _reporter(study: optuna.Study, progress: Any, trials: int) -> Callable[..., None]:
    """Tells ``progress`` the last finished trial and those running (Optuna's callback)."""
    before = len(study.trials)

    def report(*_: Any) -> None:
        if progress is None:
            return
        now = study.get_trials(deepcopy=False)
        ended = [(t.datetime_complete, t.number, t) for t in now[before:] if t.datetime_complete]
        # the trial that ended last, not the newest asked (which may still be running)
        last = max(ended)[2] if ended else None
        label = f"trial {last.number}: {last.state.name.lower()}" if last else ""
        running = [f"trial {t.number}" for t in now if t.state.name == "RUNNING"]
        progress(label, len(now) - before - len(running), trials, running)

    return report


def _one_by_one(
    study: optuna.Study,
    base: Config,
    specs: list[ParamSpec],
    metric: str,
    store: str,
    trials: int,
    diagnosis: bool,
    progress: Any,
    report: Callable[..., None],
) -> None:
    """Trials one at a time (``--stack off``, or shapes that cannot stack), each a run in the
    store, which stays open for the whole study."""
    pulse = progress.pulse if isinstance(progress, Pulsing) else None
    with RunStore(store) as rs:
        study.optimize(objective(base.to_dict(), specs, metric, rs, None, diagnosis, pulse),
                       n_trials=trials, catch=(RunFailed,), callbacks=[report])  # fmt: skip


def _in_processes(
    study: optuna.Study,
    base: Config,
    specs: list[ParamSpec],
    metric: str,
    store: str,
    storage: str,
    sampler: tuple[str, int],
    pruner: str,
    trials: int,
    jobs: int,
    report: Callable[..., None],
    stacking: tuple[str, int | None, bool],
) -> None:
    """``--jobs N``: N worker processes share the study, each with ``cores // N`` threads
    and its own sampler seed (``sampler``'s, plus its index; and its own stacks, with
    ``stack`` auto)."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    shares = [trials // jobs + (1 if i < trials % jobs else 0) for i in range(jobs)]
    space = [s.__dict__ for s in specs]
    name, seed = sampler
    args = [(base.to_dict(), space, metric, store, storage, study.study_name, name, pruner,
             n, seed + i, threads, stacking) for i, n in enumerate(shares) if n]  # fmt: skip
    with local_pool(len(args)) as pool:
        futures = [pool.submit(worker, a) for a in args]
        try:
            while not all(f.done() for f in futures):  # workers share the study: poll it
                wait(futures, timeout=1.0)
                report()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM to this process alone, too
            interrupt_workers(pool)
            raise
        for f in futures:
            f.result()


def rerun_best(
    store: RunStore,
    base: Config,
    result: TuneResult,
    metric: str,
    seeds: int,
    jobs: int | None = 1,
    progress: Any = None,
    stack: str = "auto",
    say: Callable[[str], None] | None = None,
    backend: Backend | None = None,
) -> dict[str, Any]:
    """The best config re-run on ``seeds`` fresh seeds as an experiment; its summary."""
    exp_id = plan_experiment(
        store, "tune", base, [Variant("best", result.best_patch())],
        # Fresh seeds: the trials were selected on base.seed, so re-running on it would give
        # the winner's lucky draw again and an optimistic interval.
        list(range(base.seed + 1, base.seed + 1 + seeds)), metric,
        {"study": result.study_name, "storage": result.storage, "fresh_seeds": True},
    )  # fmt: skip
    run_pending(store, exp_id, jobs, progress, "compare", stack=stack, say=say, backend=backend)
    summary = summarize_experiment(store, exp_id)
    status = "completed" if summary["complete"] else "incomplete"
    store.finish_experiment(exp_id, status, {**summary, "tune": result.__dict__})
    return summary


def _identity(specs: list[ParamSpec], base: Config, metric: str, direction: str) -> dict[str, Any]:
    config = base.to_dict()
    config.pop("store", None)
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "space": [s.__dict__ for s in specs],
        "config_hash": digest,
        "metric": metric,
        "direction": direction,
    }


def _claim_study(
    study: optuna.Study,
    specs: list[ParamSpec],
    base: Config,
    metric: str,
    direction: str,
    explicit: bool,
) -> None:
    """A study resumes only with the same search space, base config, metric and direction;
    otherwise its trials would mix two questions. Refuse, and say how to start a new one."""
    mine = _identity(specs, base, metric, direction)
    attrs = study.user_attrs
    if "config_hash" not in attrs and not study.trials:
        for key, value in mine.items():
            study.set_user_attr(key, value)
        study.set_user_attr("config", base.to_dict())
        return
    differs = [k for k, v in mine.items() if attrs.get(k) != v]
    if "direction" in differs and "metric" not in differs:
        differs.remove("direction")  # older studies did not record it
    if differs:
        what = {"space": "search space", "config_hash": "base config", "metric": "metric",
                "direction": "direction"}  # fmt: skip
        listed = ", ".join(what[k] for k in differs)
        hint = "" if explicit else " (the default study name is <config name>-tune)"
        raise ConfigError(
            f"study '{study.study_name}' already exists with a different {listed}{hint}; "
            "resuming it would mix trials of two different searches. Give a new name with "
            "--study NAME, or run with the same config, space and metric to resume it"
        )
