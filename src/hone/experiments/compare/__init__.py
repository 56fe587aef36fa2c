"""``hone compare``: variants run over paired seeds as one experiment in the run store,
resumably, and compared with confidence intervals — planned (``plan``), run here, in worker
processes or on Ray (``execute``, ``on_ray``) and summarised (``summary``)."""

from hone.experiments.compare.execute import ExperimentInterrupted, run_pending, stack_units
from hone.experiments.compare.plan import (
    FINAL,
    HELD_BACK,
    Progress,
    check_metric,
    check_variants,
    default_metric,
    holding_back,
    loss_measured_alike,
    measures_loss,
    pending_runs,
    plan_experiment,
    recordable_metrics,
    recorded_each_epoch,
    resolve_resumable,
    validated,
)
from hone.experiments.compare.summary import summarize_experiment

__all__ = [
    "FINAL",
    "HELD_BACK",
    "ExperimentInterrupted",
    "Progress",
    "check_metric",
    "check_variants",
    "default_metric",
    "holding_back",
    "loss_measured_alike",
    "measures_loss",
    "pending_runs",
    "plan_experiment",
    "recordable_metrics",
    "recorded_each_epoch",
    "resolve_resumable",
    "run_pending",
    "stack_units",
    "summarize_experiment",
    "validated",
]
