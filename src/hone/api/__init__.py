"""The Python API: ``hone.run``, ``hone.resume``, ``hone.compare``, ``hone.tune`` and
``hone.diagnose`` return typed results that also render as tables in Jupyter.

They do what the commands do, with the same store, statistics and records, so a notebook and a
terminal can take turns on one store. This is a face: the work is done by the layers below
(``hone.runs``, ``hone.experiments``); the names they export for programs that build on
hone (``build_run``, ``load_run``, ...) are re-exported here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from hone import runs
from hone.api.results import ComparisonResult, TuneOutcome, VariantResult, result_of
from hone.assemble import (
    BuiltRun,
    ModelSource,
    build_run,
    load_run_data,
    resolve_class_weights,
    resolve_device,
    seed_everything,
)
from hone.cluster import parse_backend
from hone.cluster.backend import Backend
from hone.config import Config, load_config, merge_overrides
from hone.diagnose import Diagnosis
from hone.diagnose.datacurve import DataCurve
from hone.errors import ConfigError
from hone.evaluate.report import SPLITS
from hone.experiments.compare import (
    check_metric,
    plan_experiment,
    run_pending,
    summarize_experiment,
    validated,
)
from hone.experiments.datacurve import data_curve
from hone.experiments.probe import probe_diagnosis, probing_diagnoser
from hone.experiments.tune import load_space, parse_space, rerun_best
from hone.experiments.tune import tune as run_study
from hone.experiments.variants import from_items, grid
from hone.experiments.variants import ladder as make_ladder
from hone.progress import RunsBar
from hone.runs import RunResult, final_metrics, load_run, resume
from hone.runs.restart import run_with_repair
from hone.runs.stacking import check_stack
from hone.store import RunStore, resolve_store_root
from hone.train.callbacks import Callback

__all__ = [
    "BuiltRun",
    "ComparisonResult",
    "RunResult",
    "TuneOutcome",
    "VariantResult",
    "build_run",
    "compare",
    "datacurve",
    "diagnose",
    "final_metrics",
    "load_run",
    "load_run_data",
    "resolve_class_weights",
    "resolve_device",
    "resume",
    "run",
    "seed_everything",
    "tune",
]


def run(
    config: str | Path | Mapping[str, Any] | Config | None = None,
    *,
    model: ModelSource | None = None,
    data: Any = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    store: str | Path | None = None,
    repair: int = 0,
    evaluate: Sequence[str] = SPLITS,
    stack: str = "auto",
    overrides: Mapping[str, Any] | None = None,
    **keywords: Any,
) -> RunResult:
    """Train, evaluate and record one run.

    ``overrides`` are dotted config keys: ``overrides={"train.optimizer.lr": 0.01,
    "store": "runs"}`` takes any key, also one named like a parameter of this function
    (``store``, ``model``, ``data``); keyword arguments such as ``seed=1`` or
    ``train__epochs=5`` work too for the others. A key given twice is an error. Returns
    whatever the run reached, also when interrupted or diverged (see ``RunResult.status``).

    ``model`` (an ``nn.Module`` returning logits, or a function building one) replaces the
    config's ``model:``; ``data`` (``(x, y)`` arrays or a torch ``Dataset`` of ``(x, y)``)
    replaces ``data.dataset`` and is split and preprocessed by the config's ``data:`` keys.
    ``repair=N``: a critical finding early in training restarts the run with its top
    prescription, at most N times (``hone run --repair``; see ``hone.runs.restart``).
    ``evaluate``: the splits evaluated when the run ends (``hone tune`` asks for the one its
    metric is on); the rest, and the full evaluation reports, are computed the first time
    something reads the run's full record (``hone.runs.deferred``). ``stack``: auto
    trains an ensemble's members as one stacked model where they differ only in the seed.
    """
    given = merge_overrides(overrides, keywords)
    if repair:  # each restart applies a prescription the probe measured
        return run_with_repair(
            config, attempts=repair, store=store, model=model, data=data,
            callbacks=callbacks, progress=progress, diagnose=probing_diagnoser(),
            overrides=given,
        )  # fmt: skip
    return runs.run(config, model=model, data=data, callbacks=callbacks, progress=progress,
                    store=store, evaluate=evaluate, stack=stack, overrides=given)  # fmt: skip


def _vary_strings(vary: Mapping[str, Sequence[Any]] | Sequence[str]) -> list[str]:
    """``{"train.optimizer.lr": [0.1, 0.01]}`` -> ``["train.optimizer.lr=0.1,0.01"]`` (values
    as JSON, which the ``--vary`` parser reads as YAML)."""
    if isinstance(vary, Mapping):
        out = []
        for key, values in vary.items():
            if isinstance(values, str) or not isinstance(values, Sequence) or not values:
                raise ConfigError(f"vary: {key}: give a list of values, e.g. [0.1, 0.01]")
            out.append(f"{key}=" + ",".join(json.dumps(v) for v in values))
        return out
    return [str(v) for v in vary]


def _base(
    config: Any,
    overrides: Mapping[str, Any] | None,
    keywords: dict[str, Any],
    store: str | Path | None,
) -> Config:
    given = merge_overrides(overrides, keywords)
    if store is not None and "store" in given and str(given["store"]) != str(store):
        raise ConfigError(
            f"store: given as store={str(store)!r} and in the overrides as "
            f"{str(given['store'])!r}; give it once"
        )
    cfg = load_config(config, given)
    return cfg.model_copy(update={"store": str(store)}) if store is not None else cfg


def _run_experiment(
    rs: Any,
    exp_id: str,
    jobs: int | None,
    progress: bool,
    extra: dict[str, Any] | None = None,
    runner: Any = None,
    stack: str = "auto",
    backend: Backend | None = None,
) -> ComparisonResult:
    with RunsBar(f"compare {exp_id[-6:]}", not progress) as bar:
        run_pending(rs, exp_id, jobs, bar, runner=runner, stack=stack, backend=backend)
    summary = summarize_experiment(rs, exp_id)
    status = "completed" if summary["complete"] else "incomplete"
    rs.finish_experiment(exp_id, status, {**summary, **(extra or {})})
    return result_of(summary)


def compare(
    config: str | Path | Mapping[str, Any] | Config | None = None,
    *,
    vary: Mapping[str, Sequence[Any]] | Sequence[str] | None = None,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    ladder: bool = False,
    seeds: int = 5,
    jobs: int = 1,
    metric: str | None = None,
    store: str | Path | None = None,
    progress: bool = False,
    model: Any = None,
    data: Any = None,
    stack: str = "auto",
    backend: str = "local",
    address: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    **keywords: Any,
) -> ComparisonResult:
    """Compare variants of ``config`` over paired seeds, as ``hone compare`` does.

    ``vary={"train.optimizer.lr": [0.1, 0.01]}`` (a grid against the baseline) or
    ``variants={"adam": {"train.optimizer.name": "adam"}, ...}`` (named patches); ``ladder``
    applies each on top of the one before. ``model`` and ``data`` are as in ``hone.run``:
    each run gets a fresh copy of the module, initialised by its seed (``reset_parameters``
    of every layer, or the function you give called after seeding). ``stack="auto"`` trains
    each variant's seeds as one stacked model where they can be (``--stack``).
    ``backend="ray"`` runs them on a Ray cluster at ``address`` (``--backend``, ``--address``).
    A config without a validation split is compared on 20 % of its training rows, held back
    from every run (``hone.experiments.compare.validated``), unless ``metric`` names another.
    """
    check_stack(stack)
    where = parse_backend(backend, address)
    runs.check_sources(model, data)
    if config is None and (model is not None or data is not None):
        config = runs.python_defaults(model, data)[0]  # a validation split to compare on
    base, held = _base(config, overrides, keywords, store), None
    if data is None:  # no validation split: compared on training rows held back
        base, held = validated(base, metric)
    runner, bundle = None, None
    if model is not None or data is not None:
        if jobs > 1 or where.is_ray:
            raise ConfigError("jobs: a model or data given from Python trains in this process")
        if data is not None:
            given = base.data.model_copy(update={"dataset": "python", "params": {}, "path": None})
            base = base.model_copy(update={"data": given})
            bundle = runs.python_data(base, data)[1]
        runner = _python_runner(base, model, data)
    if variants:
        items = [{"name": k, "patch": dict(v)} for k, v in variants.items()]
        planned = from_items(base, items, ladder, "variants")
    elif vary:
        strings = _vary_strings(vary)
        planned = make_ladder(base, strings) if ladder else grid(base, strings)
    else:
        raise ConfigError("compare: give vary={key: [values]} or variants={name: patch}")
    if seeds < 1:
        raise ConfigError("seeds: at least 1 (3 or more for a verdict)")
    chosen = check_metric(base, metric, bundle, planned)
    with RunStore(base.store) as rs:
        exp_id = plan_experiment(
            rs, "ladder" if ladder else "compare", base, planned,
            list(range(base.seed, base.seed + seeds)), chosen,
            {"held_back": held} if held else None,
            task=bundle.task if bundle is not None else None,
        )  # fmt: skip
        return _run_experiment(rs, exp_id, jobs, progress, runner=runner, stack=stack,
                               backend=where)  # fmt: skip


def _python_runner(base: Config, model: Any, data: Any) -> Any:
    """Train one planned config with the module and data given from Python."""

    def fresh() -> Any:
        if not isinstance(model, nn.Module):
            return model()  # a function that builds the module (called after seeding)
        net = copy.deepcopy(model)
        for layer in net.modules():  # re-drawn from the seed this run was seeded with
            reset = getattr(layer, "reset_parameters", None)
            if callable(reset):
                reset()
        return net

    def train(cfg: dict[str, Any]) -> tuple[str, str]:
        result = runs.run(cfg, model=fresh if model is not None else None, data=data,
                     store=base.store)  # fmt: skip
        return result.run_id, result.status

    return train


def tune(
    config: str | Path | Mapping[str, Any] | Config | None = None,
    *,
    space: Mapping[str, Mapping[str, Any]] | str | Path,
    trials: int = 20,
    metric: str | None = None,
    sampler: str = "tpe",
    pruner: str = "median",
    seeds_final: int = 5,
    jobs: int = 1,
    study: str | None = None,
    storage: str | None = None,
    store: str | Path | None = None,
    progress: bool = False,
    backend: str = "local",
    address: str | None = None,
    stack: str = "auto",
    stack_size: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    **keywords: Any,
) -> TuneOutcome:
    """Search hyper-parameters with Optuna as ``hone tune`` does; ``space`` is a mapping
    ``{key: {type: float, low: 1e-4, high: 1e-1, log: true}}`` or a YAML file.
    ``stack="auto"`` trains trials of one shape as one stacked model (``stack_size`` of
    them; default from the model and device), ``"off"`` one at a time.
    ``backend="ray"`` runs the trials on a Ray cluster at ``address``. A config without a
    validation split is tuned on 20 % of its training rows held back, as ``compare`` is."""
    check_stack(stack)
    where = parse_backend(backend, address)
    base = validated(_base(config, overrides, keywords, store), metric)[0]
    if isinstance(space, str | Path):
        specs = load_space(Path(space), base)
    else:
        specs = parse_space(dict(space), base)
    chosen = check_metric(base, metric, varied=[s.key for s in specs])
    root = resolve_store_root(base.store)
    with RunsBar("tune", not progress) as bar:
        result = run_study(base, specs, trials=trials, metric=chosen, store=str(root),
                           storage=storage, study_name=study, sampler=sampler, pruner=pruner,
                           jobs=jobs, progress=bar, backend=where, stack=stack,
                           stack_size=stack_size)  # fmt: skip
    final = None
    if result.best_params and seeds_final > 0:
        with RunStore(root) as rs, RunsBar("final re-run", not progress) as bar:
            summary = rerun_best(rs, base, result, chosen, seeds_final, jobs, bar, stack,
                                 backend=where)  # fmt: skip
        final = result_of(summary)
    return TuneOutcome(result, final)


def datacurve(
    config: str | Path | Mapping[str, Any] | Config | None = None,
    *,
    fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    seeds: int = 2,
    jobs: int | None = None,
    stack: str = "auto",
    store: str | Path | None = None,
    backend: str = "local",
    address: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    **keywords: Any,
) -> DataCurve:
    """More data or more tuning? (``hone datacurve``): training and validation error on
    growing ``fractions`` of the training split, ``seeds`` each, read in the textbook's
    terms. ``DataCurve.verdict`` is ``underfitting``, ``more_data`` or ``plateau``,
    ``answer`` says why, ``projected_gain_when_doubled`` and ``gain_interval`` what doubling
    the data is projected to gain; ``to_json()`` is what ``--json`` prints."""
    check_stack(stack)
    where = parse_backend(backend, address)
    base = _base(config, overrides, keywords, store)
    return data_curve(base, list(fractions), seeds, where, jobs, stack)


def diagnose(
    run_id: str,
    store: str | Path | None = None,
    *,
    probe: bool = False,
    budget: float | None = None,
    seeds: int = 3,
    progress: bool = False,
) -> Diagnosis:
    """The diagnosis of a recorded run (``hone diagnose RUN``): findings, root cause first,
    each with the settings that caused it and prescriptions as config patches.

    ``probe=True`` (``--probe``) tests the top prescriptions by short runs on ``seeds`` fresh
    seeds and ranks the findings by the measured effect (``Finding.probe``); ``budget``:
    the seconds it may spend (default: what the run itself took)."""
    with RunStore(store) as rs:
        run_id = rs.resolve_id(run_id)
        found = runs.diagnose_recorded(run_id, rs)
        if not probe:
            return found
        with RunsBar("probe", not progress) as bar:
            return probe_diagnosis(rs, run_id, found, budget=budget, seeds=seeds, progress=bar)
