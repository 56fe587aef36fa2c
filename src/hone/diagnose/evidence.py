"""Everything a rule may look at, gathered from the run store."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from hone.errors import StoreError
from hone.store.runstore import RunStore

__all__ = ["DamagedEvidence", "Evidence", "load_evidence", "telemetry_problem", "unreadable"]


@dataclass
class Evidence:
    run_id: str
    status: str
    message: str
    config: dict[str, Any]
    history: dict[str, list[Any]]
    metrics: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)  # {split: report}
    data: dict[str, Any] = field(default_factory=dict)  # classes, task, stats
    # What is achievable on the data (``hone.evaluate.reference``): reference models scored
    # on the same validation split. ``None`` when it could not be had (data from Python).
    reference: dict[str, Any] | None = None
    # Files of the run that exist but cannot be used: file name -> what is wrong with it.
    damaged: dict[str, str] = field(default_factory=dict)

    def series(self, key: str) -> list[float]:
        """A history column with missing and non-finite values dropped."""
        return [float(v) for v in self.history.get(key, []) if v is not None and math.isfinite(v)]

    @property
    def task(self) -> str:
        return str(self.data.get("task", "classification"))

    @property
    def has_val(self) -> bool:
        return bool(self.series("val_loss"))

    def cfg(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.config
        for key in dotted.split("."):
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    def report(self) -> tuple[str, dict[str, Any]] | None:
        """The evaluation report diagnosis should judge: val when present, else train.

        Never test: the test split is for the final, reported number only.
        """
        for split in ("val", "train"):
            if split in self.evaluation:
                return split, self.evaluation[split]
        return None


class DamagedEvidence(Exception):
    """A rule read a file of the run that is damaged: it cannot be judged."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name} is damaged ({why})")
        self.name = name


class _Unreadable(dict[str, Any]):
    """Stands in for a damaged file's content: any read raises ``DamagedEvidence``, so a
    rule that needs the file says so, and a rule that never reads it judges as usual."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__()
        self._damage = DamagedEvidence(name, why)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise self._damage

    __len__ = __iter__ = __getitem__ = __contains__ = get = keys = values = items = _refuse


_FIELDS = {"telemetry.json": "telemetry", "evaluation.json": "evaluation", "data.json": "data"}


def unreadable(ev: Evidence) -> Evidence:
    """``ev`` with each damaged file's content replaced by a value that cannot be read: what
    a rule is given, so one that needs a damaged file fails with ``DamagedEvidence``."""
    parts: dict[str, Any] = {
        _FIELDS[n]: _Unreadable(n, why) for n, why in ev.damaged.items() if n in _FIELDS
    }
    return dataclasses.replace(ev, **parts) if parts else ev


_SECTIONS = ("at_init", "at_end")


def _stats_problem(value: Any, where: str) -> str | None:
    """``{layer: {statistic: number}}`` (a layer's statistics may be null)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"{where} is {type(value).__name__}, not a mapping of layers"
    for layer, stats in value.items():
        if stats is not None and not isinstance(stats, dict):
            return f"{where}.{layer} is {type(stats).__name__}, not a mapping of statistics"
        for key, number in (stats or {}).items():
            if number is not None and not isinstance(number, int | float):
                return f"{where}.{layer}.{key} is {type(number).__name__}, not a number"
    return None


def telemetry_problem(value: Any) -> str | None:
    """What makes ``value`` not a telemetry record as runs write it (None when it is one)."""
    if not isinstance(value, dict):
        return f"it holds a {type(value).__name__}, not a mapping"
    samples = value.get("samples")
    if samples is not None and not isinstance(samples, list):
        return f"samples is {type(samples).__name__}, not a list"
    for i, sample in enumerate(samples or []):
        if not isinstance(sample, dict):
            return f"samples[{i}] is {type(sample).__name__}, not a mapping"
        for key in ("layers", "activations"):
            if problem := _stats_problem(sample.get(key), f"samples[{i}].{key}"):
                return problem
        for key in ("epoch", "step", "loss", "grad_norm", "lr"):
            number = sample.get(key)
            if number is not None and not isinstance(number, int | float):
                return f"samples[{i}].{key} is {type(number).__name__}, not a number"
    for key in _SECTIONS:
        if problem := _stats_problem(value.get(key), key):
            return problem
    layers = value.get("layers")
    if layers is not None and not (
        isinstance(layers, list) and all(isinstance(n, str) for n in layers)
    ):
        return "layers is not a list of layer names"
    return None


def _optional_json(
    store: RunStore, run_id: str, name: str, damaged: dict[str, str]
) -> dict[str, Any] | None:
    """The file's object; None when it is missing, or when it cannot be read or is not an
    object of the expected shape: then it is noted in ``damaged`` (``diagnose_run`` says
    which findings could not be judged without it)."""
    if not (store.run_dir(run_id) / name).is_file():
        return None
    try:
        value = store.load_json(run_id, name)
    except StoreError:
        damaged[name] = "it is not valid JSON"
        return None
    problem = (
        telemetry_problem(value)
        if name == "telemetry.json"
        else None
        if isinstance(value, dict)
        else f"it holds a {type(value).__name__}, not a mapping"
    )
    if problem:
        damaged[name] = problem
        return None
    return value  # type: ignore[no-any-return]


def load_evidence(store: RunStore, run_id: str) -> Evidence:
    """Everything diagnosis reads about a run, as recorded. An evaluation the run deferred
    (a tune trial's) is not done here, since diagnosis never rebuilds a model:
    ``hone.runs.evidence_of`` completes it first."""
    record = store.get_run(run_id)
    damaged: dict[str, str] = {}
    return Evidence(
        run_id=record.id,
        status=record.status,
        message=record.message,
        config=record.config,
        history=record.history,
        metrics=record.metrics,
        extra=record.extra,
        telemetry=_optional_json(store, record.id, "telemetry.json", damaged),
        evaluation=_optional_json(store, record.id, "evaluation.json", damaged) or {},
        data=_optional_json(store, record.id, "data.json", damaged) or {},
        damaged=damaged,
    )
