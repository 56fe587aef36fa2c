"""``hone tune``: hyper-parameter search with Optuna. A search space (``space``), samplers and
pruners by name (``samplers``), one trial as one recorded run (``trials``), the study run here,
in worker processes or on Ray, and summarised (``study``, ``on_ray``)."""

from hone.experiments.tune.samplers import (
    PRUNERS,
    SAMPLERS,
    make_pruner,
    make_sampler,
    parse_pruner,
)
from hone.experiments.tune.space import ParamSpec, load_space, parse_space
from hone.experiments.tune.study import StudyInterrupted, open_study, rerun_best, tune
from hone.experiments.tune.summary import TuneResult
from hone.experiments.tune.trials import RunFailed, TrialRun, judged_on, objective, settle

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "ParamSpec",
    "RunFailed",
    "StudyInterrupted",
    "TrialRun",
    "TuneResult",
    "judged_on",
    "load_space",
    "make_pruner",
    "make_sampler",
    "objective",
    "open_study",
    "parse_pruner",
    "parse_space",
    "rerun_best",
    "settle",
    "tune",
]
