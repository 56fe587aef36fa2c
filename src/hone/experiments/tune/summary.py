"""A study as a ``TuneResult``: its counts (why trials failed apart: diverged, killed, never
started), what pruned its trials, the best trial, parameter importances and ranges whose
best value sits at an edge."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import optuna

from hone.experiments.tune.space import ParamSpec
from hone.notebook import tune_html

__all__ = ["EDGE", "TuneResult", "summarize_study"]

EDGE = 0.05  # best value within 5 % of a range's edge: widen the range


@dataclass
class TuneResult:
    study_name: str
    storage: str
    best_value: float | None
    best_params: dict[str, Any]
    best_run: str | None
    importances: dict[str, float]
    edge_warnings: list[str]
    counts: dict[str, int]
    trials: list[dict[str, Any]]
    pruned_by: dict[str, list[int]] = field(default_factory=dict)

    def best_patch(self) -> dict[str, Any]:
        return dict(self.best_params)

    def __repr__(self) -> str:  # one line; .trials and the rest hold the details
        return (f"TuneResult({self.study_name!r}: {len(self.trials)} trials, best "
                f"{self.best_value} with {self.best_params})")  # fmt: skip

    def _repr_html_(self) -> str:
        return tune_html(self)


def summarize_study(study: optuna.Study, specs: list[ParamSpec], storage: str) -> TuneResult:
    """The study as a ``TuneResult``: counts, what pruned trials, the best trial, parameter
    importances, ranges whose best value sits at an edge, and every trial."""
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    counts = {s.name.lower(): sum(t.state == s for t in trials) for s in states}
    for status in ("diverged", "not started", "killed"):
        counts[status.replace(" ", "_")] = sum(t.user_attrs.get("status") == status for t in trials)
    pruned_by: dict[str, list[int]] = {}  # what pruned each trial -> the epochs it stopped at
    for t in trials:
        if t.state == states.PRUNED:
            cause = str(t.user_attrs.get("pruned_by", "metric"))
            pruned_by.setdefault(cause, []).append(int(t.user_attrs.get("pruned_epoch") or 0))
    complete = [t for t in trials if t.state == states.COMPLETE]
    by_key = {s.key: s for s in specs}

    def decoded(params: dict[str, Any]) -> dict[str, Any]:
        return {k: by_key[k].decode(v) if k in by_key else v for k, v in params.items()}

    best_params: dict[str, Any] = {}
    best_value, best_run = None, None
    importances: dict[str, float] = {}
    edges: list[str] = []
    if complete:
        best = study.best_trial
        best_value, best_run = best.value, best.user_attrs.get("run_id")
        best_params = decoded(best.params)
        importances = _importances(study, complete, specs)
        edges = _edge_warnings(best, complete, specs)
    rows = [
        {
            "number": t.number,
            "state": t.state.name.lower(),
            "value": t.value,
            "params": decoded(t.params),
            "run_id": t.user_attrs.get("run_id"),
            "status": t.user_attrs.get("status"),
            "pruned_by": t.user_attrs.get("pruned_by"),
            "pruned_epoch": t.user_attrs.get("pruned_epoch"),
            "intermediate": dict(t.intermediate_values),
        }
        for t in trials
    ]
    return TuneResult(study.study_name, storage, best_value, best_params, best_run,
                      importances, edges, counts, rows, pruned_by)  # fmt: skip


def _importances(
    study: optuna.Study, complete: list[optuna.trial.FrozenTrial], specs: list[ParamSpec]
) -> dict[str, float]:
    """Optuna's parameter importances; none with fewer than 4 trials, one parameter or no
    spread in the values (nothing to rank)."""
    if len(complete) < 4 or len(specs) < 2 or len({t.value for t in complete}) < 2:
        return {}
    try:
        importances = dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}
    return importances if all(math.isfinite(v) for v in importances.values()) else {}


def _edge_warnings(
    best: optuna.trial.FrozenTrial, complete: list[optuna.trial.FrozenTrial], specs: list[ParamSpec]
) -> list[str]:
    """A numeric range whose best value sits within ``EDGE`` of its low or high end."""
    found = []
    for s in specs:
        tried = {t.params.get(s.key) for t in complete}
        if s.type == "categorical" or s.key not in best.params or len(tried) < 3:
            continue  # with two values tried, every best sits at an edge: no hint
        value = float(best.params[s.key])
        low, high = float(s.low), float(s.high)  # type: ignore[arg-type]
        if s.log:
            value, low, high = math.log(value), math.log(low), math.log(high)
        if min(value - low, high - value) <= EDGE * (high - low):
            edge = "low" if value - low < high - value else "high"
            if edge == "low" and float(s.low) == 0:  # type: ignore[arg-type]
                found.append(f"{s.key}: the best value sits at the low edge of its range, near "
                             "0: the setting may do best turned off (0)")  # fmt: skip
            else:
                found.append(f"{s.key}: the best value sits at the {edge} edge of its range; "
                             "widen it")  # fmt: skip
    return found
