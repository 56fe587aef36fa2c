"""The experiments from Python: ``hone.compare``, ``hone.tune`` and ``hone.diagnose`` return
typed results that also render as tables in Jupyter.

They do what the commands do, with the same store, statistics and records, so a notebook and a
terminal can take turns on one store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hone.cluster.backend import Backend
from hone.config import Config, load_config
from hone.errors import ConfigError

__all__ = ["ComparisonResult", "TuneOutcome", "VariantResult", "compare", "diagnose", "tune"]


@dataclass
class VariantResult:
    """One variant over its seeds; ``vs`` is the paired comparison with ``compare_to``."""

    name: str
    patch: dict[str, Any]
    values: list[float]  # the metric per completed seed, in seed order
    mean: float
    ci_low: float
    ci_high: float
    run_ids: list[str]  # every run, diverged ones too, in seed order
    compare_to: str | None = None
    mean_diff: float | None = None
    p_value: float | None = None
    verdict: str | None = None  # better | worse | no detectable difference | too few seeds
    missing: str = ""  # why some runs give no value, e.g. "2 of 5 runs ... (2 diverged)"


@dataclass
class ComparisonResult:
    experiment_id: str
    kind: str  # compare | ladder | tune
    metric: str
    complete: bool
    variants: list[VariantResult]
    summary: dict[str, Any] = field(repr=False)  # what `hone compare --json` prints

    def __getitem__(self, name: str) -> VariantResult:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(f"no variant '{name}'; have: {', '.join(v.name for v in self.variants)}")

    def _repr_html_(self) -> str:
        from hone.report.notebook import comparison_html

        return comparison_html(self.summary)


def _result(summary: dict[str, Any]) -> ComparisonResult:
    variants = []
    for row in summary["variants"]:
        s, vs = row["summary"], row.get("vs") or {}
        variants.append(
            VariantResult(
                row["name"],
                row["patch"],
                row["values"],
                s["mean"],
                s["ci_low"],
                s["ci_high"],
                row["run_ids"],
                row.get("compare_to"),
                vs.get("mean_diff"),
                vs.get("p_value"),
                vs.get("verdict"),
                row.get("missing", ""),
            )
        )
    return ComparisonResult(
        summary["experiment"], summary["kind"], summary["metric"], summary["complete"],
        variants, summary,
    )  # fmt: skip


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


def _base(config: Any, overrides: dict[str, Any], store: str | Path | None) -> Config:
    cfg = load_config(config, overrides)
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
    from hone.experiments.compare import run_pending, summarize_experiment
    from hone.progress import RunsBar

    with RunsBar(f"compare {exp_id[-6:]}", not progress) as bar:
        run_pending(rs, exp_id, jobs, bar, runner=runner, stack=stack, backend=backend)
    summary = summarize_experiment(rs, exp_id)
    status = "completed" if summary["complete"] else "incomplete"
    rs.finish_experiment(exp_id, status, {**summary, **(extra or {})})
    return _result(summary)


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
    **overrides: Any,
) -> ComparisonResult:
    """Compare variants of ``config`` over paired seeds, as ``hone compare`` does.

    ``vary={"train.optimizer.lr": [0.1, 0.01]}`` (a grid against the baseline) or
    ``variants={"adam": {"train.optimizer.name": "adam"}, ...}`` (named patches); ``ladder``
    applies each on top of the one before. ``model`` and ``data`` are as in ``hone.run``:
    each run gets a fresh copy of the module, initialised by its seed (``reset_parameters``
    of every layer, or the function you give called after seeding). ``stack="auto"`` trains
    each variant's seeds as one stacked model where they can be (``--stack``).
    ``backend="ray"`` runs them on a Ray cluster at ``address`` (``--backend``, ``--address``).
    """
    from hone.api import python_data
    from hone.cluster import parse_backend
    from hone.experiments.compare import check_metric, check_stack, plan_experiment
    from hone.experiments.variants import from_items, grid
    from hone.experiments.variants import ladder as make_ladder
    from hone.store import RunStore

    check_stack(stack)
    where = parse_backend(backend, address)
    base = _base(config, overrides, store)
    runner, bundle = None, None
    if model is not None or data is not None:
        if jobs > 1 or where.is_ray:
            raise ConfigError("jobs: a model or data given from Python trains in this process")
        if data is not None:
            given = base.data.model_copy(update={"dataset": "python", "params": {}, "path": None})
            base = base.model_copy(update={"data": given})
            bundle = python_data(base, data)[1]
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
    chosen = check_metric(base, metric, bundle)
    with RunStore(base.store) as rs:
        exp_id = plan_experiment(
            rs, "ladder" if ladder else "compare", base, planned,
            list(range(base.seed, base.seed + seeds)), chosen,
            task=bundle.task if bundle is not None else None,
        )  # fmt: skip
        return _run_experiment(rs, exp_id, jobs, progress, runner=runner, stack=stack,
                               backend=where)  # fmt: skip


def _python_runner(base: Config, model: Any, data: Any) -> Any:
    """Train one planned config with the module and data given from Python."""
    from hone.api import run

    def fresh() -> Any:
        import copy

        from torch import nn

        if not isinstance(model, nn.Module):
            return model()  # a function that builds the module (called after seeding)
        net = copy.deepcopy(model)
        for layer in net.modules():  # re-drawn from the seed this run was seeded with
            reset = getattr(layer, "reset_parameters", None)
            if callable(reset):
                reset()
        return net

    def train(cfg: dict[str, Any]) -> tuple[str, str]:
        result = run(cfg, model=fresh if model is not None else None, data=data,
                     store=base.store)  # fmt: skip
        return result.run_id, result.status

    return train


@dataclass
class TuneOutcome:
    """The study and, when ``seeds_final`` > 0, the best config re-run on fresh seeds."""

    study: Any  # hone.experiments.tune.TuneResult
    final: ComparisonResult | None

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.study.best_params)

    @property
    def best_value(self) -> float | None:
        return self.study.best_value  # type: ignore[no-any-return]

    def _repr_html_(self) -> str:
        from hone.report.notebook import comparison_html, tune_html

        final = comparison_html(self.final.summary) if self.final else ""
        return tune_html(self.study) + final


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
    **overrides: Any,
) -> TuneOutcome:
    """Search hyper-parameters with Optuna as ``hone tune`` does; ``space`` is a mapping
    ``{key: {type: float, low: 1e-4, high: 1e-1, log: true}}`` or a YAML file.
    ``backend="ray"`` runs the trials on a Ray cluster at ``address``."""
    from hone.cluster import parse_backend
    from hone.experiments.compare import check_metric, plan_experiment
    from hone.experiments.tune import load_space, parse_space
    from hone.experiments.tune import tune as run_study
    from hone.experiments.variants import Variant
    from hone.progress import RunsBar as _Bar
    from hone.store import RunStore, resolve_store_root

    where = parse_backend(backend, address)
    base = _base(config, overrides, store)
    if isinstance(space, str | Path):
        specs = load_space(Path(space), base)
    else:
        specs = parse_space(dict(space), base)
    chosen = check_metric(base, metric)
    root = resolve_store_root(base.store)
    with _Bar("tune", not progress) as bar:
        result = run_study(base, specs, trials=trials, metric=chosen, store=str(root),
                           storage=storage, study_name=study, sampler=sampler, pruner=pruner,
                           jobs=jobs, progress=bar, backend=where)  # fmt: skip
    final = None
    if result.best_params and seeds_final > 0:
        with RunStore(root) as rs:
            fresh = list(range(base.seed + 1, base.seed + 1 + seeds_final))
            exp_id = plan_experiment(
                rs, "tune", base, [Variant("best", result.best_patch())], fresh, chosen,
                {"study": result.study_name, "storage": result.storage, "fresh_seeds": True},
            )  # fmt: skip
            final = _run_experiment(rs, exp_id, jobs, progress, {"tune": result.__dict__},
                                    backend=where)  # fmt: skip
    return TuneOutcome(result, final)


def diagnose(run_id: str, store: str | Path | None = None) -> Any:
    """The diagnosis of a recorded run (``hone diagnose RUN``): findings, root cause first,
    each with prescriptions as config patches."""
    from hone.diagnose import diagnose_run, load_evidence
    from hone.store import RunStore

    with RunStore(store) as rs:
        return diagnose_run(load_evidence(rs, rs.resolve_id(run_id)))
