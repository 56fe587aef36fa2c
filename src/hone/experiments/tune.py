"""Hyper-parameter search with Optuna (``hone tune``).

The search space is YAML, one entry per config key::

    train.optimizer.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
    model.hidden: {type: categorical, choices: [[64], [128], [64, 64]]}
    train.batch_size: {type: int, low: 16, high: 256, log: true}

Each trial is a recorded run that reports its validation metric every epoch, so pruners can
stop it early. Studies live in an Optuna RDB storage (SQLite in the run store by default), so
they resume after a crash and several processes or machines can share one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from concurrent.futures import wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import optuna

from hone.cluster.backend import Backend
from hone.cluster.processes import local_pool
from hone.config import Config, load_config, read_yaml
from hone.errors import ConfigError, HoneError
from hone.experiments.stats import higher_is_better
from hone.experiments.storage import open_storage
from hone.train.callbacks import Callback
from hone.train.state import TrainState

__all__ = [
    "ParamSpec",
    "TrialRun",
    "TuneResult",
    "judged_on",
    "load_space",
    "make_pruner",
    "make_sampler",
    "parse_pruner",
    "parse_space",
    "settle",
    "trial_overrides",
    "tune",
]

SAMPLERS = ("random", "grid", "qmc", "tpe", "cmaes")
PRUNERS = ("none", "median", "hyperband", "asha", "diagnosis")  # and e.g. "median+diagnosis"
EDGE = 0.05  # best value within 5 % of a range's edge: widen the range


@dataclass
class ParamSpec:
    key: str
    type: str  # float | int | categorical
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] = field(default_factory=list)

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.type == "categorical":
            encoded = trial.suggest_categorical(self.key, [json.dumps(c) for c in self.choices])
            return json.loads(str(encoded))
        low, high = float(self.low or 0.0), float(self.high or 0.0)
        if self.type == "float":
            return trial.suggest_float(self.key, low, high, log=self.log, step=self.step)
        step = int(self.step or 1)
        return trial.suggest_int(self.key, int(low), int(high), step=step, log=self.log)

    def grid_values(self) -> list[Any]:
        if self.type == "categorical":
            return [json.dumps(c) for c in self.choices]
        if self.step is None and self.type == "float":
            raise ConfigError(f"space.{self.key}: the grid sampler needs a step for floats")
        step = self.step or 1
        count = round((self.high - self.low) / step) + 1  # type: ignore[operator]
        values = [round(self.low + i * step, 12) for i in range(count)]  # type: ignore[operator]
        return [int(v) for v in values] if self.type == "int" else values

    def decode(self, value: Any) -> Any:
        return json.loads(value) if self.type == "categorical" else value


def load_space(path: Path, base: Config) -> list[ParamSpec]:
    return parse_space(read_yaml(path), base, str(path))


def parse_space(raw: Any, base: Config, origin: str = "space") -> list[ParamSpec]:
    """``{key: {type: float|int|categorical, low, high, log, step, choices}}`` checked against
    ``base`` (each key must exist in the config)."""
    if not raw or not isinstance(raw, dict):
        raise ConfigError(f"{origin}: the search space is empty; give one entry per config key")
    specs = []
    for key, entry in raw.items():
        where = f"{origin}: {key}"
        if not isinstance(entry, dict) or entry.get("type") not in ("float", "int", "categorical"):
            raise ConfigError(f"{where}: needs type: float | int | categorical")
        spec = ParamSpec(
            key,
            entry["type"],
            entry.get("low"),
            entry.get("high"),
            bool(entry.get("log", False)),
            entry.get("step"),
            list(entry.get("choices") or []),
        )
        if spec.type == "categorical" and not spec.choices:
            raise ConfigError(f"{where}: categorical needs choices: [...]")
        if spec.type != "categorical":
            if spec.low is None or spec.high is None or not spec.low < spec.high:
                raise ConfigError(f"{where}: needs low < high")
            if spec.log and spec.low <= 0:
                raise ConfigError(f"{where}: a log range needs low > 0")
        probe = spec.choices[0] if spec.choices else spec.low
        load_config(base, {key: probe})  # the key must exist in the config
        specs.append(spec)
    return specs


def make_sampler(name: str, specs: list[ParamSpec], seed: int) -> optuna.samplers.BaseSampler:
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler({s.key: s.grid_values() for s in specs}, seed=seed)
    if name == "qmc":
        with warnings.catch_warnings():  # QMC is marked experimental; we pin Optuna's range
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.QMCSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    raise ConfigError(f"--sampler: unknown '{name}'; valid: {', '.join(SAMPLERS)}")


def parse_pruner(name: str) -> tuple[str, bool]:
    """``"median+diagnosis"`` -> (``"median"``, True): Optuna's pruner on the metric, and
    whether live diagnosis also prunes (a trial with a critical finding)."""
    parts = [p.strip() for p in name.split("+")]
    diagnosis = "diagnosis" in parts
    rest = [p for p in parts if p != "diagnosis"]
    if len(rest) > 1 or (rest and rest[0] not in PRUNERS) or parts.count("diagnosis") > 1:
        raise ConfigError(
            f"--pruner: unknown '{name}'; valid: {', '.join(PRUNERS)}, or one of them "
            "+diagnosis (e.g. median+diagnosis)"
        )
    return (rest[0] if rest else "none"), diagnosis


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """Optuna's part of ``name`` (live diagnosis prunes from inside the run: ``_objective``)."""
    pruners: dict[str, type[optuna.pruners.BasePruner]] = {
        "none": optuna.pruners.NopPruner,
        "median": optuna.pruners.MedianPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "asha": optuna.pruners.SuccessiveHalvingPruner,
        "diagnosis": optuna.pruners.NopPruner,
    }
    return pruners[parse_pruner(name)[0]]()


class _Report(Callback):
    """Reports the metric to Optuna each epoch; stops the run when the pruner says so."""

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        self.trial, self.metric, self.pruned = trial, metric, False

    def on_epoch_end(self, state: TrainState) -> None:
        value = state.logs.get(self.metric)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(value, state.epoch)
        if self.trial.should_prune():
            self.pruned = True
            state.stop_training = True
            state.stop_reason = f"pruned by Optuna at epoch {state.epoch}"


def _mark_pruned(store: str, run_id: str, message: str) -> None:
    """A pruned trial's run ended early on purpose: ``stopped``, not ``completed``."""
    from hone.store import RunStore

    with RunStore(store) as rs:
        rs.set_status(run_id, "stopped", message or "pruned by Optuna")


class StudyInterrupted(HoneError):
    """Ctrl-C stopped a study; its finished trials are stored and it resumes by name."""

    exit_code = 130

    def __init__(self, name: str) -> None:
        super().__init__(
            f"study '{name}' interrupted; finished trials are kept. Resume with the same "
            f"command and --study {name}"
        )


class RunFailed(Exception):
    """A trial whose run diverged or was interrupted (recorded by Optuna as FAIL)."""


@dataclass
class TrialRun:
    """How a trial's run ended (from ``hone.run`` here, or from a Ray task)."""

    run_id: str
    status: str
    message: str
    metrics: dict[str, Any]
    epochs_run: int
    pruned: bool  # stopped by Optuna's pruner on the metric


def trial_overrides(
    base: dict[str, Any], number: int, patch: dict[str, Any], threads: int | None, diagnosis: bool
) -> dict[str, Any]:
    """The dotted overrides a trial's run is started with."""
    overrides: dict[str, Any] = {**patch, "name": f"{base['name']}/trial{number}"}
    if threads:
        overrides["train.threads"] = threads
    if diagnosis:  # a critical live finding stops the run; the trial counts as pruned
        watch = (base.get("train") or {}).get("watch") or {}
        overrides["train.watch"] = {**watch, "stop_on": "critical"}
    return overrides


def settle(trial: optuna.Trial, run: TrialRun, metric: str, store: str) -> float:
    """Record on ``trial`` how its run ended; its value, or raise ``TrialPruned``,
    ``RunFailed`` (diverged, failed) or ``KeyboardInterrupt`` (the run was interrupted)."""
    trial.set_user_attr("run_id", run.run_id)
    by_watch = run.status == "stopped" and run.message.startswith("watch: ")
    trial.set_user_attr("status", "pruned" if run.pruned or by_watch else run.status)
    if run.status == "interrupted":
        raise KeyboardInterrupt  # stop the study; the trial is not evidence either way
    if by_watch:  # "watch: CODE at epoch N: title"
        trial.set_user_attr("pruned_by", run.message.split()[1])
        trial.set_user_attr("pruned_epoch", run.epochs_run)
        raise optuna.TrialPruned()
    if run.pruned:
        trial.set_user_attr("pruned_by", "metric")
        trial.set_user_attr("pruned_epoch", run.epochs_run)
        _mark_pruned(store, run.run_id, run.message)
        raise optuna.TrialPruned()
    if run.status != "completed" or metric not in run.metrics:
        raise RunFailed(f"run {run.run_id} {run.status}: {run.message}")
    return float(run.metrics[metric])


def judged_on(metric: str) -> tuple[str]:
    """The split a trial's run evaluates when it ends: the one its metric is on. The others
    (and the full reports) wait until someone reads the run (``hone.evaluate.deferred``)."""
    return (metric.split("_", 1)[0],)


def _objective(
    base: dict[str, Any],
    specs: list[ParamSpec],
    metric: str,
    store: str,
    threads: int | None,
    diagnosis: bool = False,
) -> Any:
    import hone

    def objective(trial: optuna.Trial) -> float:
        patch = {s.key: s.suggest(trial) for s in specs}
        overrides = trial_overrides(base, trial.number, patch, threads, diagnosis)
        report = _Report(trial, metric)
        result = hone.run(base, store=store, callbacks=[report], evaluate=judged_on(metric),
                          **overrides)  # fmt: skip
        run = TrialRun(result.run_id, result.status, result.message, result.metrics,
                       result.epochs_run, report.pruned)  # fmt: skip
        return settle(trial, run, metric, store)

    return objective


def _worker(args: tuple[Any, ...]) -> None:
    base, space_json, metric, store, storage, study_name, sampler, pruner, n, seed, threads = args
    specs = [ParamSpec(**s) for s in space_json]
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(
        study_name=study_name,
        storage=open_storage(storage),
        sampler=make_sampler(sampler, specs, seed),
        pruner=make_pruner(pruner),
    )
    objective = _objective(base, specs, metric, store, threads, parse_pruner(pruner)[1])
    study.optimize(objective, n_trials=n, catch=(RunFailed,))


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

    def _repr_html_(self) -> str:
        from hone.report.notebook import tune_html

        return tune_html(self)


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
) -> TuneResult:
    """Run (or resume) a study until it has ``trials`` more finished trials.

    ``progress(label, done, total, running)`` is told after every trial (and, with ``jobs``,
    every second from the shared study). ``backend`` ray runs each trial as a Ray task while
    Optuna asks and tells here (``hone.cluster.ray_tune``)."""
    # Optuna logs a full traceback per failed (diverged) trial at WARNING; hone reports the
    # failed share itself.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", module="optuna.samplers._cmaes")
    storage = storage or f"sqlite:///{Path(store).resolve() / 'studies.db'}"
    Path(store).mkdir(parents=True, exist_ok=True)
    name = study_name or f"{base.name}-tune"
    direction: Literal["maximize", "minimize"] = (
        "maximize" if higher_is_better(metric) else "minimize"
    )
    try:
        study = optuna.create_study(
            study_name=name, storage=open_storage(storage), direction=direction,
            load_if_exists=True,
        )  # fmt: skip
    except (ValueError, ImportError, RuntimeError) as exc:  # a bad URL or a missing driver
        raise ConfigError(f"--storage: cannot open {storage!r}: {str(exc)[:200]}") from None
    except Exception as exc:  # SQLAlchemy's own errors (a URL that parses but cannot connect)
        raise ConfigError(f"--storage: cannot open {storage!r}: {str(exc)[:200]}") from None
    _claim_study(study, specs, base, metric, direction, explicit=study_name is not None)
    cfg = base.to_dict()
    before = len(study.trials)

    def report(*_: Any) -> None:
        if progress is None:
            return
        now = study.get_trials(deepcopy=False)
        last = now[-1] if len(now) > before else None
        label = f"trial {last.number}: {last.state.name.lower()}" if last else ""
        running = [f"trial {t.number}" for t in now if t.state.name == "RUNNING"]
        progress(label, len(now) - before - len(running), trials, running)

    diagnosis = parse_pruner(pruner)[1]  # a bad name fails here, before any trial
    if backend is not None and backend.is_ray:
        from hone.cluster.ray_tune import tune_on_ray

        study.sampler = make_sampler(sampler, specs, base.seed)
        study.pruner = make_pruner(pruner)
        try:
            tune_on_ray(study, specs, base, metric, store, storage, pruner, trials, jobs,
                        backend, report)  # fmt: skip
        except KeyboardInterrupt:
            raise StudyInterrupted(name) from None
        return _summarize(study, specs, storage, sampler)
    jobs = jobs or 1
    if jobs <= 1:
        study.sampler = make_sampler(sampler, specs, base.seed)
        study.pruner = make_pruner(pruner)
        try:
            study.optimize(
                _objective(cfg, specs, metric, store, None, diagnosis),
                n_trials=trials,
                catch=(RunFailed,),
                callbacks=[report],
            )
        except KeyboardInterrupt:
            raise StudyInterrupted(name) from None
    else:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        shares = [trials // jobs + (1 if i < trials % jobs else 0) for i in range(jobs)]
        args = [
            (
                cfg,
                [s.__dict__ for s in specs],
                metric,
                store,
                storage,
                name,
                sampler,
                pruner,
                n,
                base.seed + i,
                threads,
            )
            for i, n in enumerate(shares)
            if n
        ]
        try:
            with local_pool(len(args)) as pool:
                futures = [pool.submit(_worker, a) for a in args]
                while not all(f.done() for f in futures):  # workers share the study: poll it
                    wait(futures, timeout=1.0)
                    report()
                for f in futures:
                    f.result()
        except KeyboardInterrupt:
            raise StudyInterrupted(name) from None
    return _summarize(study, specs, storage, sampler)


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


def _summarize(
    study: optuna.Study, specs: list[ParamSpec], storage: str, sampler: str = "tpe"
) -> TuneResult:
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    counts = {s.name.lower(): sum(t.state == s for t in trials) for s in states}
    counts["diverged"] = sum(t.user_attrs.get("status") == "diverged" for t in trials)
    pruned_by: dict[str, list[int]] = {}  # what pruned each trial -> the epochs it stopped at
    for t in trials:
        if t.state == states.PRUNED:
            cause = str(t.user_attrs.get("pruned_by", "metric"))
            pruned_by.setdefault(cause, []).append(int(t.user_attrs.get("pruned_epoch") or 0))
    complete = [t for t in trials if t.state == states.COMPLETE]
    by_key = {s.key: s for s in specs}
    best_params: dict[str, Any] = {}
    best_value, best_run = None, None
    importances: dict[str, float] = {}
    warnings: list[str] = []
    if complete:
        best = study.best_trial
        best_value, best_run = best.value, best.user_attrs.get("run_id")
        best_params = {k: by_key[k].decode(v) if k in by_key else v for k, v in best.params.items()}
        spread = len({t.value for t in complete}) > 1
        if len(complete) >= 4 and len(specs) >= 2 and spread:  # fewer: nothing to rank
            try:
                importances = dict(optuna.importance.get_param_importances(study))
            except (RuntimeError, ValueError, ZeroDivisionError):
                importances = {}
            if importances and not all(math.isfinite(v) for v in importances.values()):
                importances = {}
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
                warnings.append(
                    f"{s.key}: the best value sits at the {edge} edge of its range; widen it"
                )
    rows = [
        {
            "number": t.number,
            "state": t.state.name.lower(),
            "value": t.value,
            "params": {k: by_key[k].decode(v) if k in by_key else v for k, v in t.params.items()},
            "run_id": t.user_attrs.get("run_id"),
            "status": t.user_attrs.get("status"),
            "pruned_by": t.user_attrs.get("pruned_by"),
            "pruned_epoch": t.user_attrs.get("pruned_epoch"),
            "intermediate": dict(t.intermediate_values),
        }
        for t in trials
    ]
    return TuneResult(
        study.study_name,
        storage,
        best_value,
        best_params,
        best_run,
        importances,
        warnings,
        counts,
        rows,
        pruned_by,
    )
