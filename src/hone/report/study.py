"""The study page: an Optuna study's trials (pruned and failed ones with what stopped them),
its optimisation history, one slice plot per parameter, importances, the best trials in
parallel coordinates, the best trial and its fresh-seed re-run."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from hone.report import plots
from hone.store.runstore import RunStore

__all__ = ["study_changed", "study_context"]

TOP = 15  # trials drawn in parallel coordinates
MIN_TRUSTED = 20  # complete trials before parameter importance is shown


def study_context(store: RunStore, study_name: str, storage: str | None = None) -> dict[str, Any]:
    storage = storage or f"sqlite:///{store.root.resolve() / 'studies.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=storage)
    every = study.get_trials(deepcopy=False)
    trials = [t for t in every if t.state == TrialState.COMPLETE]
    metric = study.user_attrs.get("metric", "value")
    ctx: dict[str, Any] = {
        "kind": "study",
        "name": study_name,
        "metric": metric,
        "storage": storage,
        "n_trials": len(study.trials),
        "n_complete": len(trials),
        "trials": [  # every trial, pruned and failed ones included, with its run
            {
                "number": t.number,
                "state": _trial_state(t),
                "value": t.value,
                "params": ", ".join(f"{k}={_short_value(v)}" for k, v in t.params.items()),
                "run_id": t.user_attrs.get("run_id"),
            }
            for t in every
        ],
        "pruned_by": _pruned_by(every),
    }
    if not trials:
        return ctx
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    ctx["history"] = _history(every, trials, metric, maximize)
    params = sorted({p for t in trials for p in t.params})
    ctx["slices"] = _slices(trials, params, metric)
    if len(trials) < MIN_TRUSTED:  # a forest fitted to a handful of points says little
        ctx["importance_note"] = (
            f"Parameter importance is left out: it is estimated from {len(trials)} complete "
            f"trials, and below {MIN_TRUSTED} it can contradict the slice plots below. Add "
            "trials (hone tune --study NAME resumes this study) to see it."
        )
    else:
        try:
            importances = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError):
            importances = {}
        if importances:
            ctx["importances"] = plots.bars(
                list(importances), list(importances.values()), "importance", horizontal=True
            )
    parallel = _parallel(trials, params, metric, maximize)
    if parallel is not None:
        ctx["parallel"] = parallel
    best_trial = study.best_trial
    ctx["best"] = {
        "number": best_trial.number,
        "value": best_trial.value,
        "params": _decoded(best_trial),
        "run_id": best_trial.user_attrs.get("run_id"),
    }
    reruns = [
        e
        for e in store.list_experiments(200)
        if e.kind == "tune" and e.spec.get("study") == study_name
    ]
    if reruns:
        final = reruns[0].summary.get("variants", [{}])[0] if reruns[0].summary else {}
        ctx["final"] = {"experiment": reruns[0].id, **final}
    return ctx


def study_changed(store: RunStore, study_name: str) -> float:
    """When the study (or its fresh-seed re-run) last changed, as a timestamp: its page is
    written again only after that."""
    storage = f"sqlite:///{store.root.resolve() / 'studies.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        trials = optuna.load_study(study_name=study_name, storage=storage).get_trials(
            deepcopy=False
        )
    except (KeyError, ValueError, RuntimeError):
        return time.time()  # cannot tell: write it
    if any(t.state == TrialState.RUNNING for t in trials):
        return time.time()
    stamps = [(t.datetime_complete or t.datetime_start) for t in trials]
    changed = max((s.timestamp() for s in stamps if s is not None), default=time.time())
    for e in store.list_experiments(200):
        if e.kind == "tune" and e.spec.get("study") == study_name:
            changed = max(changed, e.finished or e.created)
    return changed


def _pruned_by(every: list[FrozenTrial]) -> list[dict[str, Any]]:
    """What pruned how many trials, and at which epochs."""
    by: dict[str, list[int]] = {}
    for t in every:
        if t.state == TrialState.PRUNED:
            cause = str(t.user_attrs.get("pruned_by", "metric"))
            by.setdefault(cause, []).append(int(t.user_attrs.get("pruned_epoch") or 0))
    return [
        {"cause": "the metric (Optuna's pruner)" if c == "metric" else f"diagnosis: {c}",
         "n": len(e), "epochs": ", ".join(str(x) for x in sorted(e))}
        for c, e in sorted(by.items(), key=lambda kv: -len(kv[1]))
    ]  # fmt: skip


def _history(
    every: list[FrozenTrial], trials: list[FrozenTrial], metric: str, maximize: bool
) -> str:
    """Each complete trial's value, the best so far, and where pruned trials were cut."""
    numbers = [float(t.number) for t in trials]
    values = [float(t.value or 0) for t in trials]
    best = list(np.maximum.accumulate(values) if maximize else np.minimum.accumulate(values))
    cut = [t for t in every if t.state == TrialState.PRUNED and t.intermediate_values]
    pruned = (
        [float(t.number) for t in cut],
        [float(t.intermediate_values[max(t.intermediate_values)]) for t in cut],
    )
    return plots.scatter(
        numbers, values, "trial", metric, best_line=best, integer_x=True, pruned=pruned
    )


def _slices(trials: list[FrozenTrial], params: list[str], metric: str) -> list[dict[str, str]]:
    """One slice plot per parameter: the value against the parameter (a log axis for a
    parameter the space samples on a log scale; categories by name)."""
    values = [float(t.value or 0) for t in trials]
    slices = []
    for p in params:
        xs = [t.params.get(p) for t in trials]
        if all(isinstance(x, int | float) for x in xs):
            log = _log_scale(trials, p)
            label = f"{p} (log scale)" if log else p
            slices.append({"param": p, "uri": plots.scatter(xs, values, label, metric, log_x=log)})  # type: ignore[arg-type]
        else:
            cats = sorted({str(x) for x in xs})
            where = [float(cats.index(str(x))) for x in xs]
            uri = plots.scatter(where, values, p, metric, categories=cats)
            slices.append({"param": p, "uri": uri})
    return slices


def _parallel(
    trials: list[FrozenTrial], params: list[str], metric: str, maximize: bool
) -> str | None:
    """The best trials in parallel coordinates (parameters every one of them has)."""
    top = sorted(trials, key=lambda t: -float(t.value or 0) if maximize else float(t.value or 0))
    top = top[:TOP]
    shown = [p for p in params if all(p in t.params for t in top)]
    if not shown or len(top) < 2:
        return None
    categorical = {
        p: sorted({str(t.params[p]) for t in trials if p in t.params})
        for p in shown
        if not all(isinstance(t.params[p], int | float) for t in top)
    }

    def coordinate(t: FrozenTrial, p: str) -> float:
        if p in categorical:
            return float(categorical[p].index(str(t.params[p])))
        return float(t.params[p])

    rows = [[coordinate(t, p) for p in shown] for t in top]
    top_values = [float(t.value or 0) for t in top]
    logs = [p for p in shown if p not in categorical and _log_scale(trials, p)]
    return plots.parallel(shown, rows, top_values, metric, categorical, logs)


def _log_scale(trials: list[FrozenTrial], param: str) -> bool:
    """Whether the search space samples ``param`` on a log scale (or, for a study without
    that record, whether its values span over two decades)."""
    for t in trials:
        dist = t.distributions.get(param)
        if dist is not None and hasattr(dist, "log"):
            return bool(dist.log)
    xs = [float(t.params[param]) for t in trials if param in t.params]
    return bool(xs) and min(xs) > 0 and max(xs) / min(xs) > 100


def _trial_state(t: Any) -> str:
    """``pruned (bad_init, epoch 5)`` for a trial live diagnosis pruned, else its status."""
    state = str(t.user_attrs.get("status") or t.state.name.lower())
    cause = t.user_attrs.get("pruned_by")
    if state == "pruned" and cause:
        return f"pruned ({cause}, epoch {t.user_attrs.get('pruned_epoch')})"
    return state


def _short_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _decoded(trial: Any) -> dict[str, Any]:
    """A trial's parameters as config values (categorical choices are stored as JSON text)."""
    return {
        k: json.loads(v) if isinstance(trial.distributions.get(k), CategoricalDistribution) else v
        for k, v in trial.params.items()
    }
