"""Run variants over paired seeds as one experiment in the run store, resumably, and compare
them with confidence intervals (``hone compare``).

Ctrl-C (or SIGTERM) stops the whole experiment, not one run: the run in progress is recorded
``interrupted`` (never linked, so never counted as evidence), the experiment is marked
``interrupted`` and ``ExperimentInterrupted`` tells the caller how to resume.
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import asdict
from typing import Any

from hone.cluster.backend import Backend
from hone.cluster.processes import local_pool
from hone.config import Config, load_config
from hone.data import DataBundle
from hone.errors import ConfigError, HoneError, suggest
from hone.experiments.stats import MIN_SEEDS, compare_paired, holm, summarize
from hone.experiments.variants import Variant
from hone.store.owner import current_owner
from hone.store.runstore import RunRecord, RunStore

__all__ = [
    "ExperimentInterrupted",
    "check_metric",
    "check_stack",
    "check_variants",
    "default_metric",
    "plan_experiment",
    "run_pending",
    "summarize_experiment",
]

# (label of the run just done, done, total, labels of the runs in progress)
Progress = Callable[[str, int, int, list[str]], None]

RESERVED = ("baseline",)


class ExperimentInterrupted(HoneError):
    """Ctrl-C or SIGTERM stopped an experiment; what finished is recorded."""

    exit_code = 130

    def __init__(self, exp_id: str, command: str = "compare") -> None:
        self.exp_id = exp_id
        super().__init__(
            f"experiment {exp_id} interrupted; finished runs are kept. Resume with: "
            f"hone {command} --resume {exp_id}"
        )


def recordable_metrics(cfg: Config, task: str, has_val: bool) -> list[str]:
    names = ["train_loss"] + (["train_accuracy"] if task == "classification" else [])
    if has_val:
        names += [n.replace("train_", "val_") for n in names]
    return names


def check_metric(cfg: Config, metric: str | None, data: DataBundle | None = None) -> str:
    """The metric to compare on, checked against the task before anything trains: the default
    is ``val_accuracy`` (``val_loss`` for regression); test metrics are never for choosing.
    ``data``: the bundle, when it is not the config's to load (data given from Python)."""
    from hone.api import load_run_data

    data = data or load_run_data(cfg)
    has_val = data.val is not None
    if metric is None:
        if not has_val:
            raise ConfigError(
                "comparisons are made on the validation split and this config has none; set "
                "data.split.val (e.g. 0.2), or name another metric with --metric"
            )
        return "val_accuracy" if data.task == "classification" else "val_loss"
    valid = recordable_metrics(cfg, data.task, has_val)
    if metric.startswith("test_"):
        raise ConfigError(
            f"--metric: {metric} is the test split, which hone never uses to choose; use "
            + " or ".join(v for v in valid if v.startswith("val_"))
        )
    if metric not in valid:
        why = (
            "needs a validation split (set data.split.val)"
            if metric.startswith("val_") and not has_val
            else f"is not recorded for this {data.task} task"
        )
        raise ConfigError(f"--metric: '{metric}' {why}{suggest(metric, valid)}; valid: "
                          + ", ".join(valid))  # fmt: skip
    return metric


def default_metric(cfg: Config) -> str:
    return check_metric(cfg, None)


def check_variants(base: Config, variants: list[Variant], task: str | None = None) -> None:
    """Names unique, ``baseline`` reserved for the base config, every config buildable (a loss
    that does not fit the task fails now, not after the baseline has trained)."""
    from hone.train.losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES

    seen: set[str] = set()
    for i, v in enumerate(variants):
        if not v.name.strip():
            raise ConfigError(f"variant {i}: the name is empty")
        if v.name in RESERVED and (i != 0 or v.patch):
            raise ConfigError(f"variant name '{v.name}' is reserved for the base config")
        if v.name in seen:
            raise ConfigError(f"variant name '{v.name}' is used twice; names must be unique")
        seen.add(v.name)
    from hone.api import load_run_data

    task = task or load_run_data(base).task
    allowed = CLASSIFICATION_LOSSES if task == "classification" else REGRESSION_LOSSES
    for v in variants:
        cfg = v.config(base)
        if cfg.train.loss not in allowed:
            raise ConfigError(
                f"variant '{v.name}': train.loss '{cfg.train.loss}' does not fit a {task} task; "
                "use one of: " + ", ".join(allowed)
            )


def plan_experiment(
    store: RunStore,
    kind: str,
    base: Config,
    variants: list[Variant],
    seeds: list[int],
    metric: str,
    extra: dict[str, Any] | None = None,
    task: str | None = None,
) -> str:
    """Record the experiment's plan; ``task`` when the data is not the config's to load."""
    if not seeds:
        raise ConfigError("--seeds: give at least 1 seed (3 or more for a verdict)")
    check_variants(base, variants, task)
    owner = current_owner()
    spec = {
        "config": base.to_dict(),
        "variants": [asdict(v) for v in variants],
        "seeds": seeds,
        "metric": metric,
        "owner": {"pid": owner.pid, "host": owner.host, "started": owner.started},
        **(extra or {}),
    }
    return store.create_experiment(kind, base.name, spec)


def _train(cfg: dict[str, Any], store_root: str, threads: int | None) -> tuple[str, str]:
    """One run in a worker process (module-level so it pickles)."""
    import hone

    overrides: dict[str, Any] = {"train.threads": threads} if threads else {}
    result = hone.run(cfg, store=store_root, **overrides)
    return result.run_id, result.status


def train_unit(
    cfgs: list[dict[str, Any]], store_root: str, threads: int | None
) -> tuple[list[tuple[str, str]], str | None]:
    """A unit of work: one run, or the seeds of one variant trained stacked. Returns
    ``(run_id, status)`` per config, and why they ran one by one when the built model turned
    out not to stack."""
    why = None
    if len(cfgs) > 1:
        from hone.experiments.stacking import NotStackable, run_stacked

        configs = [load_config(c, {"train.threads": threads} if threads else None) for c in cfgs]
        try:
            return [(r.run_id, r.status) for r in run_stacked(configs, store_root)], None
        except NotStackable as exc:
            why = str(exc)
    return [_train(c, store_root, threads) for c in cfgs], why


Unit = list[tuple[str, int, dict[str, Any]]]  # (variant, seed, config) trained together


def _units(todo: Unit, stack: str, say: Callable[[str], None] | None) -> list[Unit]:
    """Group each variant's seeds into one stacked unit where they can be (``stack: auto``);
    say once why a variant's seeds run one by one."""
    if stack == "off":
        return [[job] for job in todo]
    from hone.experiments.stacking import why_not_stacked

    groups: dict[str, Unit] = {}
    for job in todo:
        groups.setdefault(job[0], []).append(job)
    units: list[Unit] = []
    told: set[str] = set()
    for group in groups.values():
        why = why_not_stacked([load_config(cfg) for _, _, cfg in group]) if len(group) > 1 else None
        if len(group) > 1 and why is None:
            units.append(group)
            continue
        units.extend([job] for job in group)
        _tell(say, told, group, why)
    return units


def _ignore_sigint() -> None:
    # Between runs a worker ignores Ctrl-C and the parent stops it in order (cancel, then
    # wait); inside a run the engine's own handler records the run as interrupted.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Outcomes linked to an experiment: a resumed experiment does not train them again (a diverged
# seed diverges again); the summary counts a diverged run without using its value.
FINAL = ("completed", "diverged")


def _jobs_plan(store: RunStore, exp_id: str) -> list[tuple[str, int, dict[str, Any]]]:
    record = store.get_experiment(exp_id)
    spec = record.spec
    done = {(r["variant"], r["seed"]) for r in record.runs}
    base = load_config(spec["config"])
    todo = []
    for v in spec["variants"]:
        variant = Variant(v["name"], v["patch"], v.get("compare_to"))
        for seed in spec["seeds"]:
            if (variant.name, seed) in done:
                continue
            cfg = variant.config(base)
            cfg.seed = seed
            cfg.name = f"{base.name}/{variant.name}"
            todo.append((variant.name, seed, cfg.to_dict()))
    return todo


def check_stack(stack: str) -> None:
    """``--stack`` is auto or off (checked before an experiment is planned)."""
    if stack not in ("auto", "off"):
        raise ConfigError(f"--stack: '{stack}' is not a mode; use auto or off")


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
    the seed alone (``hone.experiments.stacking``; each seed is still its own run), and says
    through ``say`` why not where they cannot. With ``jobs > 1`` units go to that many
    processes, each with ``cores // jobs`` threads so the machine is not oversubscribed.
    Returns the number of runs done now. Raises ``ExperimentInterrupted`` on Ctrl-C, after
    recording what finished. ``runner(config)`` replaces training in a fresh ``hone.run`` (a
    model or data given from Python), one at a time. ``backend`` ray sends units to a Ray
    cluster (``hone.cluster``), at most ``jobs`` at once, and records them here.
    """
    check_stack(stack)
    todo = _jobs_plan(store, exp_id)
    total, root = len(todo), str(store.root)
    if not todo:
        return 0
    try:
        if runner is not None:
            units: list[Unit] = [[job] for job in todo]
        else:
            units = _units(todo, stack, say)
        if backend is not None and backend.is_ray:
            if runner is not None:
                raise ConfigError("--backend ray: a model or data given from Python trains here")
            _run_on_ray(store, exp_id, units, backend, jobs, progress, say)
            return total
        jobs = jobs or 1
        if jobs <= 1 or runner is not None:
            done = 0
            told: set[str] = set()
            for unit in units:
                if runner is not None:
                    results = [runner(unit[0][2])]
                else:
                    results, why = train_unit([cfg for _, _, cfg in unit], root, None)
                    _tell(say, told, unit, why)
                for (name, seed, _), (run_id, status) in zip(unit, results, strict=True):
                    done += 1
                    if status in FINAL:
                        store.link_run(exp_id, name, seed, run_id)
                    if progress:
                        progress(f"{name} seed {seed}: {status}", done, total, [])
                if any(status == "interrupted" for _, status in results):
                    raise KeyboardInterrupt
            return total
        _run_parallel(store, exp_id, units, jobs, progress, say)
    except KeyboardInterrupt:
        store.set_experiment_status(exp_id, "interrupted")
        raise ExperimentInterrupted(exp_id, command) from None
    return total


def _run_parallel(
    store: RunStore,
    exp_id: str,
    units: list[Unit],
    jobs: int,
    progress: Progress | None,
    say: Callable[[str], None] | None = None,
) -> None:
    threads = max(1, (os.cpu_count() or 1) // jobs)
    told: set[str] = set()
    root, done, last = str(store.root), 0, ""
    total = sum(len(unit) for unit in units)
    pool = local_pool(jobs, _ignore_sigint)
    futures: dict[Future[tuple[list[tuple[str, str]], str | None]], Unit] = {
        pool.submit(train_unit, [cfg for _, _, cfg in unit], root, threads): unit for unit in units
    }
    pending = set(futures)
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in finished:
                unit = futures[fut]
                results, why = fut.result()
                _tell(say, told, unit, why)
                for (name, seed, _), (run_id, status) in zip(unit, results, strict=True):
                    if status in FINAL:
                        store.link_run(exp_id, name, seed, run_id)
                    done += 1
                    last = f"{name} seed {seed}: {status}"
            if progress:
                active = [_label(futures[f]) for f in pending if f.running()]
                progress(last, done, total, active)
    except KeyboardInterrupt:
        for fut in pending:
            fut.cancel()
        # Runs in flight finish their current step and record themselves interrupted (a
        # terminal's Ctrl-C reaches them already; a signal sent to this process alone not).
        for proc in list(getattr(pool, "_processes", {}).values()):
            if proc.pid and proc.is_alive():
                os.kill(proc.pid, signal.SIGINT)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_on_ray(
    store: RunStore,
    exp_id: str,
    units: list[Unit],
    backend: Backend,
    jobs: int | None,
    progress: Progress | None,
    say: Callable[[str], None] | None,
) -> None:
    from hone.cluster.ray_runs import UnitOutcome, run_units

    told: set[str] = set()
    total, count, last = sum(len(u) for u in units), [0], [""]

    def done(unit: Unit, outcome: UnitOutcome) -> None:
        _tell(say, told, unit, outcome.why)
        for (name, seed, _), (run_id, status) in zip(unit, outcome.results, strict=True):
            if status in FINAL:
                store.link_run(exp_id, name, seed, run_id)
            count[0] += 1
            last[0] = f"{name} seed {seed}: {status}"

    def active(units_now: list[Unit]) -> None:  # submitted, running or queued on the cluster
        if progress:
            progress(last[0], count[0], total, [_label(u) for u in units_now])

    run_units(store, units, backend, jobs, done, active)


def _tell(say: Callable[[str], None] | None, told: set[str], unit: Unit, why: str | None) -> None:
    """Say once per reason why a variant's seeds ran one by one."""
    if why and why not in told and say is not None:
        say(f"{unit[0][0]}: seeds run one by one, not stacked: {why}")
        told.add(why)


def _label(unit: Unit) -> str:
    name, seed, _ = unit[0]
    return f"{name} seed {seed}" if len(unit) == 1 else f"{name} seeds {seed}-{unit[-1][1]}"


def _records(store: RunStore, runs: list[dict[str, Any]]) -> dict[int, RunRecord | None]:
    """Each linked seed's run record, read once; ``None`` for a deleted or damaged run (that
    seed is missing, not a crash)."""
    records: dict[int, RunRecord | None] = {}
    for r in runs:
        try:
            records[r["seed"]] = store.get_run(r["run_id"], with_history=False)
        except HoneError:
            records[r["seed"]] = None
    return records


def _metric_values(records: dict[int, RunRecord | None], metric: str) -> dict[int, float]:
    """Each seed's value, from completed runs only: a diverged run's metrics are those of
    weights that blew up, not of the variant (``_missing_note`` says how many there were)."""
    values = {}
    for seed, record in records.items():
        if record is None or record.status != "completed":
            continue
        value = record.metrics.get(metric)
        if isinstance(value, int | float) and math.isfinite(value):
            values[seed] = float(value)
    return values


def _missing_note(
    records: dict[int, RunRecord | None], values: dict[int, float], metric: str
) -> str:
    """Why some of a variant's recorded runs give no value (e.g. "2 diverged"), else ""."""
    why: dict[str, int] = {}
    for seed, record in records.items():
        if seed not in values:
            status = record.status if record is not None else "deleted or damaged"
            why[status] = why.get(status, 0) + 1
    if not why:
        return ""
    causes = ", ".join(f"{n} {status}" for status, n in sorted(why.items()))
    hint = "; lower the learning rate" if "diverged" in why else ""
    return f"{sum(why.values())} of {len(records)} runs have no {metric} ({causes}){hint}"


def summarize_experiment(store: RunStore, exp_id: str) -> dict[str, Any]:
    """Per variant: mean ± 95 % CI of the metric over seeds, the paired difference against the
    variant it is judged against, and — labelled as final, never used to choose — test accuracy.
    Grids of several variants against one baseline also get Holm's correction."""
    record = store.get_experiment(exp_id)
    spec = record.spec
    metric = spec["metric"]
    test_metric = "test_accuracy" if "accuracy" in metric else "test_loss"
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for r in record.runs:
        by_variant.setdefault(r["variant"], []).append(r)
    records = {v["name"]: _records(store, by_variant.get(v["name"], [])) for v in spec["variants"]}
    values = {name: _metric_values(recs, metric) for name, recs in records.items()}
    rows = []
    for v in spec["variants"]:
        name, mine = v["name"], values[v["name"]]
        test = _metric_values(records[name], test_metric)
        row: dict[str, Any] = {
            "name": name,
            "patch": v["patch"],
            "compare_to": v.get("compare_to"),
            "n": len(mine),
            "values": [mine[s] for s in sorted(mine)],
            "summary": summarize([mine[s] for s in sorted(mine)], metric=metric).to_json(),
            "final_test": {
                "metric": test_metric,
                **summarize([test[s] for s in sorted(test)], metric=test_metric).to_json(),
            },
            "run_ids": [
                r["run_id"] for r in sorted(by_variant.get(name, []), key=lambda r: r["seed"])
            ],
            "missing": _missing_note(records[name], mine, metric),
        }
        ref = v.get("compare_to")
        if ref and ref in values:
            seeds = sorted(set(mine) & set(values[ref]))
            if seeds:
                cmp = compare_paired(
                    [mine[s] for s in seeds], [values[ref][s] for s in seeds], metric
                )
                row["vs"] = {"variant": ref, **cmp.to_json()}
        rows.append(row)
    _holm(rows, record.kind)
    planned = len(spec["variants"]) * len(spec["seeds"])
    return {
        "experiment": record.id,
        "kind": record.kind,
        "status": record.status,
        "metric": metric,
        "seeds": spec["seeds"],
        "complete": len(record.runs) == planned,
        "runs_done": len(record.runs),
        "runs_planned": planned,
        "min_seeds_for_verdict": MIN_SEEDS,
        "variants": rows,
    }


def _holm(rows: list[dict[str, Any]], kind: str) -> None:
    """Several variants judged against one baseline: a verdict must survive Holm's correction
    for the number of comparisons (a ladder compares each step once, so it needs none)."""
    judged = [r for r in rows if "vs" in r and r["vs"]["variant"] == "baseline"]
    if kind == "ladder" or len(judged) < 2:
        return
    keep = holm([float(r["vs"]["p_value"]) for r in judged])
    for r, ok in zip(judged, keep, strict=True):
        r["vs"]["holm"] = ok
        if not ok and r["vs"]["verdict"] in ("better", "worse"):
            r["vs"]["verdict"] = "no detectable difference"
            r["vs"]["note"] = (
                f"p = {r['vs']['p_value']:.3g} does not survive Holm's correction for "
                f"{len(judged)} comparisons"
            )
