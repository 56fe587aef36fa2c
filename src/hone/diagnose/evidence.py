"""Everything a rule may look at, gathered from the run store."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hone.errors import StoreError
from hone.store.runstore import RunStore

__all__ = ["Evidence", "load_evidence"]


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


def _optional_json(store: RunStore, run_id: str, name: str) -> Any:
    """The file's object, or None when it is missing, damaged or not an object: diagnosis
    then judges from what is left (the history, the index)."""
    try:
        value = store.load_json(run_id, name)
    except StoreError:
        return None
    return value if isinstance(value, dict) else None


def load_evidence(store: RunStore, run_id: str) -> Evidence:
    """Everything diagnosis reads about a run, as recorded. An evaluation the run deferred
    (a tune trial's) is not done here, since diagnosis never rebuilds a model:
    ``hone.runs.evidence_of`` completes it first."""
    record = store.get_run(run_id)
    return Evidence(
        run_id=record.id,
        status=record.status,
        message=record.message,
        config=record.config,
        history=record.history,
        metrics=record.metrics,
        extra=record.extra,
        telemetry=_optional_json(store, record.id, "telemetry.json"),
        evaluation=_optional_json(store, record.id, "evaluation.json") or {},
        data=_optional_json(store, record.id, "data.json") or {},
    )
