"""Samplers and pruners by name (``--sampler``, ``--pruner``), all Optuna's own; live
diagnosis joins a pruner as ``+diagnosis`` (it prunes from inside the run)."""

from __future__ import annotations

import warnings

import optuna

from hone.errors import ConfigError
from hone.experiments.compare import recorded_each_epoch
from hone.experiments.tune.space import ParamSpec

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "TPE_STARTUP",
    "blind_pruner",
    "make_pruner",
    "make_sampler",
    "parse_pruner",
]

SAMPLERS = ("random", "grid", "qmc", "tpe", "cmaes")
PRUNERS = ("none", "median", "hyperband", "asha", "diagnosis")  # and e.g. "median+diagnosis"
TPE_STARTUP = 10  # TPE's random start-up trials (Optuna's default), before it models the study


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
        # constant_liar: a trial asked while others run (--jobs, stacked trials, Ray) counts
        # them as bad results, so it is not drawn on top of them; alone, it changes nothing.
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=TPE_STARTUP,
                                          constant_liar=True)  # fmt: skip
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


def blind_pruner(name: str, metric: str) -> str | None:
    """Why the pruner ``name`` can stop no trial on ``metric`` (one measured when a run
    ends, not each epoch), else ``None``."""
    on_metric = parse_pruner(name)[0]
    if on_metric == "none" or recorded_each_epoch(metric):
        return None
    return (
        f"--pruner {on_metric} reads the metric each epoch, but {metric} is measured once, "
        "when a run ends: no trial is pruned (only the loss and accuracy are measured each "
        "epoch)"
    )


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    """Optuna's part of ``name`` (live diagnosis prunes from inside the run:
    ``trials.objective``)."""
    pruners: dict[str, type[optuna.pruners.BasePruner]] = {
        "none": optuna.pruners.NopPruner,
        "median": optuna.pruners.MedianPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "asha": optuna.pruners.SuccessiveHalvingPruner,
        "diagnosis": optuna.pruners.NopPruner,
    }
    return pruners[parse_pruner(name)[0]]()
