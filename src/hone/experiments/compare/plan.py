"""Planning an experiment: its metric checked against the task, its variants checked (unique
names, losses that fit the task), and the plan recorded so that it resumes; the
(variant, seed) runs still to do."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from hone.assemble import load_run_data
from hone.config import Config, load_config
from hone.config.names import CLASSIFICATION_LOSSES, REGRESSION_LOSSES
from hone.data import DataBundle, validation_from_training
from hone.errors import ConfigError, suggest
from hone.evaluate.report import REGRESSION_HEADLINE
from hone.experiments.variants import Variant
from hone.store.owner import current_owner
from hone.store.runstore import RunStore
from hone.train.losses import resolve_loss

__all__ = [
    "FINAL",
    "HELD_BACK",
    "Progress",
    "Unit",
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
    "tell_once",
    "unit_label",
    "validated",
]

RESERVED = ("baseline",)

# Outcomes linked to an experiment: a resumed experiment does not train them again (a diverged
# seed diverges again); the summary counts a diverged run without using its value.
FINAL = ("completed", "diverged")

# Which command finishes which kind of experiment: an improve has rounds that only improve
# plans; the others are fixed plans of (variant, seed) runs that compare finishes.
_RESUMED_BY = {"improve": "improve"}


def resolve_resumable(store: RunStore, prefix: str, command: str) -> str:
    """The experiment ``prefix`` names, if ``hone <command> --resume`` can finish it; else a
    ConfigError naming the command that can (a probe's runs are not an improve's rounds)."""
    record = store.get_experiment(prefix)
    owner = _RESUMED_BY.get(record.kind, "compare")
    if owner != command:
        raise ConfigError(
            f"experiment {record.id} is a {record.kind} experiment, not one `hone {command}` "
            f"made; finish it with: hone {owner} --resume {record.id}"
        )
    return record.id


Unit = list[tuple[str, int, dict[str, Any]]]  # (variant, seed, config) trained together
# (label of the run just done, done, total, labels of the runs in progress)
Progress = Callable[[str, int, int, list[str]], None]


def recordable_metrics(cfg: Config, task: str, has_val: bool) -> list[str]:
    """The metrics every run of ``task`` records at its end (what a comparison is made on):
    the loss, and accuracy and balanced accuracy (the fair number on imbalanced classes) or
    R², MAE and RMSE (``REGRESSION_HEADLINE``)."""
    names = ["train_loss"]
    if task == "classification":
        names += ["train_accuracy", "train_balanced_accuracy"]
    else:
        names += [f"train_{name}" for name in REGRESSION_HEADLINE]
    if has_val:
        names += [n.replace("train_", "val_") for n in names]
    return names


def recorded_each_epoch(metric: str) -> bool:
    """Whether every epoch records ``metric`` (a pruner reads it there); the others are
    measured once, when a run ends."""
    return metric.split("_", 1)[-1] in ("loss", "accuracy")


# What a run's loss measures besides its model: two runs that differ in one of these report
# losses on different scales (a Huber delta of 0.001 reports a thousandth of MSE's).
LOSS_MEASURE = ("loss", "huber_delta", "label_smoothing", "class_weight")


def loss_measured_alike(a: Config, b: Config) -> bool:
    """Whether ``a`` and ``b`` report losses that can be compared (``LOSS_MEASURE``)."""
    return all(getattr(a.train, key) == getattr(b.train, key) for key in LOSS_MEASURE)


def measures_loss(key: str) -> bool:
    """Whether the dotted config ``key`` (a search space's) changes what the loss measures."""
    return any(key == f"train.{k}" or key.startswith(f"train.{k}.") for k in LOSS_MEASURE)


def check_metric(
    cfg: Config,
    metric: str | None,
    data: DataBundle | None = None,
    variants: Sequence[Variant] = (),
    varied: Sequence[str] = (),
) -> str:
    """The metric to compare on, checked against the task before anything trains: the default
    is ``val_accuracy`` (``val_loss`` for regression, ``val_r2`` where ``variants`` or the
    ``varied`` keys of a search change what the loss measures); test metrics are never for
    choosing. ``data``: the bundle, when it is not the config's to load (data from Python)."""
    data = data or load_run_data(cfg)
    has_val = data.val is not None
    if metric is None:
        if not has_val:
            raise ConfigError(
                "comparisons are made on the validation split and this config has none; set "
                "data.split.val (e.g. 0.2), or name another metric with --metric"
            )
        if data.task == "classification":
            return "val_accuracy"
        alike = all(loss_measured_alike(cfg, v.config(cfg)) for v in variants)
        return "val_loss" if alike and not any(map(measures_loss, varied)) else "val_r2"
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


def default_metric(cfg: Config, variants: Sequence[Variant] = ()) -> str:
    return check_metric(cfg, None, variants=variants)


# A config without a validation split is compared on this share of its training rows, held
# back from every run: hone chooses on validation rows, never on the test split.
HELD_BACK = 0.2


def holding_back(base: Config, share: float) -> Config:
    """``base`` with ``share`` of its training rows held back as a validation split."""
    held = validation_from_training(base.data, share)
    return load_config(base, {"data.split": {**base.data.split.model_dump(), **held}})


def validated(cfg: Config, metric: str | None) -> tuple[Config, float | None]:
    """``cfg`` as a comparison trains it, and the share of its training rows held back:
    where it has no validation split and no ``metric`` is named (the Keras-style blobs
    baseline, 80/20), ``HELD_BACK`` of them, which every run leaves out and is compared
    on; else ``cfg`` as it is and ``None``. Data given from Python is split as given."""
    if metric is not None or cfg.data.dataset == "python":
        return cfg, None
    if load_run_data(cfg).val is not None:
        return cfg, None
    return holding_back(cfg, HELD_BACK), HELD_BACK


def check_variants(base: Config, variants: list[Variant], task: str | None = None) -> None:
    """Names unique, ``baseline`` reserved for the base config, every config buildable (a loss
    that does not fit the task fails now, not after the baseline has trained)."""
    seen: set[str] = set()
    for i, v in enumerate(variants):
        if not v.name.strip():
            raise ConfigError(f"variant {i}: the name is empty")
        if v.name in RESERVED and (i != 0 or v.patch):
            raise ConfigError(f"variant name '{v.name}' is reserved for the base config")
        if v.name in seen:
            raise ConfigError(f"variant name '{v.name}' is used twice; names must be unique")
        seen.add(v.name)
    task = task or load_run_data(base).task
    allowed = CLASSIFICATION_LOSSES if task == "classification" else REGRESSION_LOSSES
    for v in variants:
        cfg = v.config(base)
        if resolve_loss(cfg.train.loss, task) not in allowed:
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


def pending_runs(store: RunStore, exp_id: str) -> Unit:
    """Every (variant, seed) of the experiment not yet linked to a final run, with its config."""
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


def tell_once(
    say: Callable[[str], None] | None, told: set[str], unit: Unit, why: str | None
) -> None:
    """Say once per reason why a variant's seeds ran one by one."""
    if why and why not in told and say is not None:
        say(f"{unit[0][0]}: seeds run one by one, not stacked: {why}")
        told.add(why)


def unit_label(unit: Unit) -> str:
    name, seed, _ = unit[0]
    return f"{name} seed {seed}" if len(unit) == 1 else f"{name} seeds {seed}-{unit[-1][1]}"
