"""``hone tune --backend ray``: Optuna asks and tells here; each trial's run is a Ray task.

A trial reports its metric every epoch to a small actor that lives on the driver's machine
and opens the study's storage: the actor records the intermediate value and asks the pruner,
so pruning works while the trial runs, with the same pruners as a local study. The trial's
run folder comes back to the driver's store, as with ``hone compare --backend ray``.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna

from hone.cluster.backend import Backend
from hone.config import Config
from hone.experiments.ray_tasks import (
    MAX_RETRIES,
    RayRunFailed,
    SharedData,
    pack_new,
    provided,
    resources,
    temporary_store,
)
from hone.experiments.tune.samplers import make_pruner, parse_pruner
from hone.experiments.tune.space import ParamSpec
from hone.experiments.tune.trials import RunFailed, TrialRun, judged_on, settle, trial_overrides
from hone.runs.train import run
from hone.store.bundle import RunBundle, unpack_run
from hone.store.runstore import RunStore
from hone.store.studies import open_storage
from hone.train.callbacks import Callback
from hone.train.state import TrainState

__all__ = ["PruneJudge", "tune_on_ray"]


class PruneJudge:
    """A Ray actor on the driver's machine: records a trial's intermediate values in the
    study's storage and answers whether the pruner stops it (public Optuna storage API)."""

    def __init__(self, storage: str, study_name: str, pruner: str) -> None:
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self.storage = optuna.storages.get_storage(open_storage(storage))
        self.study = optuna.load_study(study_name=study_name, storage=self.storage)
        self.study_id = self.storage.get_study_id_from_name(study_name)
        self.pruner = make_pruner(pruner)

    def report(self, number: int, step: int, value: float) -> bool:
        trial_id = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)
        self.storage.set_trial_intermediate_value(trial_id, step, value)
        return bool(self.pruner.prune(self.study, self.storage.get_trial(trial_id)))


class _RemoteReport(Callback):
    """In the worker: the metric to the judge each epoch; stop when it says prune."""

    def __init__(self, judge: Any, number: int, metric: str) -> None:
        self.judge, self.number, self.metric, self.pruned = judge, number, metric, False

    def on_epoch_end(self, state: TrainState) -> None:
        import ray

        value = state.logs.get(self.metric)
        if value is None or not math.isfinite(value):
            return
        prune = ray.get(self.judge.report.remote(self.number, state.epoch, float(value)))
        if prune and state.epoch < state.epochs:  # a trial that trained every epoch is done
            self.pruned = True
            state.stop_training = True
            state.stop_reason = f"pruned by Optuna at epoch {state.epoch}"


@dataclass
class TrialOutcome:
    run: TrialRun | None
    bundles: list[RunBundle] = field(default_factory=list)
    error: str = ""


def run_trial(
    base: dict[str, Any],
    overrides: dict[str, Any],
    number: int,
    metric: str,
    judge: Any,
    shared: Any,
    sources: list[RunBundle],
) -> TrialOutcome:
    """Runs in a Ray worker: one trial's run, in a temporary store, shipped back whole."""
    with tempfile.TemporaryDirectory(prefix="hone-ray-") as tmp, provided(shared):
        root = temporary_store(tmp, sources)
        report = _RemoteReport(judge, number, metric)
        ended, error = None, ""
        try:
            r = run(base, store=root, callbacks=[report], evaluate=judged_on(metric),
                    overrides=overrides)  # fmt: skip
            ended = TrialRun(r.run_id, r.status, r.message, r.metrics, r.epochs_run, report.pruned)
        except Exception as exc:  # recorded as failed in the temporary store: ship that too
            error = f"{type(exc).__name__}: {exc}"
        bundles = pack_new(root, sources)
    return TrialOutcome(ended, bundles, error)


def tune_on_ray(
    study: optuna.Study,
    specs: list[ParamSpec],
    base: Config,
    metric: str,
    store: str,
    storage: str,
    pruner: str,
    trials: int,
    jobs: int | None,
    backend: Backend,
    progress: Callable[..., None],
) -> None:
    """Add ``trials`` finished trials to ``study`` (its sampler and pruner already set), at
    most ``jobs`` at once (None: one per ``train.threads`` CPUs the cluster has)."""
    cpus, gpus = resources(base)
    cfg, diagnosis = base.to_dict(), parse_pruner(pruner)[1]
    with backend.session() as ray, RunStore(store) as rs:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        judge = (ray.remote(PruneJudge).options(num_cpus=0, scheduling_strategy=here)
                 .remote(storage, study.study_name, pruner))  # fmt: skip
        limit = jobs or max(1, int(ray.cluster_resources().get("CPU", 1)) // cpus)
        task = ray.remote(run_trial).options(num_cpus=cpus, num_gpus=gpus, max_retries=MAX_RETRIES)
        shared = SharedData(ray, rs)
        data, sources = shared.ref(base), shared.sources(base)
        inflight: dict[Any, optuna.Trial] = {}
        asked = 0
        try:
            while asked < trials or inflight:
                while asked < trials and len(inflight) < limit:
                    trial = study.ask()
                    patch = {s.key: s.suggest(trial) for s in specs}
                    overrides = trial_overrides(cfg, trial.number, patch, cpus, diagnosis)
                    ref = task.remote(cfg, overrides, trial.number, metric, judge, data, sources)
                    inflight[ref], asked = trial, asked + 1
                progress()
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
                for ref in ready:
                    _tell(study, inflight.pop(ref), ray.get(ref), rs, metric)
            progress()
        except BaseException:
            for ref, trial in inflight.items():
                ray.cancel(ref, force=False)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise


def _tell(
    study: optuna.Study, trial: optuna.Trial, outcome: TrialOutcome, rs: RunStore, metric: str
) -> None:
    for bundle in outcome.bundles:
        unpack_run(rs, bundle, str(rs.root))
    if outcome.run is None:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise RayRunFailed(f"trial {trial.number} failed on a Ray worker: {outcome.error}")
    try:
        value = settle(trial, outcome.run, metric, rs)
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    except RunFailed:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    except KeyboardInterrupt:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    else:
        study.tell(trial, value)
