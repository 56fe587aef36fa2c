"""A ``hone tune --jobs N`` worker process: its share of the trials, on the study every
process shares (in stacks of its own with ``--stack auto``)."""

from __future__ import annotations

from typing import Any

import optuna

from hone.config import load_config
from hone.experiments.tune.samplers import make_pruner, make_sampler, parse_pruner
from hone.experiments.tune.space import ParamSpec
from hone.experiments.tune.stacked import tune_stacked
from hone.experiments.tune.trials import RunFailed, objective
from hone.store import RunStore
from hone.store.studies import open_storage

__all__ = ["worker"]


def worker(args: tuple[Any, ...]) -> None:
    """One process's ``n`` trials; ``stacking`` is (``--stack``, ``--stack-size``, refill)."""
    base, space_json, metric, store, storage, study_name, sampler, pruner, n, seed, threads, \
        stacking = args  # fmt: skip
    stack, size, refill = stacking
    specs = [ParamSpec(**s) for s in space_json]
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(
        study_name=study_name,
        storage=open_storage(storage),
        sampler=make_sampler(sampler, specs, seed),
        pruner=make_pruner(pruner),
    )
    diagnosis = parse_pruner(pruner)[1]
    if stack == "auto":
        cfg = load_config(base, {"train.threads": threads})
        why = tune_stacked(study, cfg, specs, metric, store, n, size, diagnosis, refill,
                           lambda *_: None)  # fmt: skip
        if why is None:
            return
    with RunStore(store) as rs:
        study.optimize(objective(base, specs, metric, rs, threads, diagnosis), n_trials=n,
                       catch=(RunFailed,))  # fmt: skip
