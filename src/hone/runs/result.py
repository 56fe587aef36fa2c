"""What a run produced: ``RunResult``, returned by ``hone.run`` and every layer above it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from hone.config import Config
from hone.notebook import run_html
from hone.store.records import clean_json

__all__ = ["RunResult"]


_KEY = ("val_accuracy", "val_loss", "val_r2", "test_accuracy", "test_loss", "test_r2")


@dataclass(repr=False)
class RunResult:
    """What a run produced. ``model`` is the trained module (its weights are also in the store).
    Its ``repr`` is one line (id, status, key metrics); ``metrics``, ``history`` and ``config``
    hold the rest."""

    run_id: str
    status: str
    epochs_run: int
    metrics: dict[str, float]
    history: dict[str, list[float]]
    wall_seconds: float
    config: Config
    message: str = ""
    store: Path = Path()
    model: nn.Module | None = field(default=None, repr=False)
    members: list[RunResult] = field(default_factory=list, repr=False)  # ensembles only
    notes: dict[str, Any] = field(default_factory=dict)  # transfer, class weights, data loading

    def __repr__(self) -> str:
        key = [k for k in _KEY if k in self.metrics] or list(self.metrics)[:4]
        shown = ", ".join(f"{k} {self.metrics[k]:.4g}" for k in key)
        why = f" ({self.message})" if self.message and self.status != "completed" else ""
        return (f"RunResult({self.run_id}: {self.status}{why}, {self.epochs_run} epochs, "
                f"{self.wall_seconds:.1f} s; {shown or 'no metrics'})")  # fmt: skip

    def _repr_html_(self) -> str:
        """The run as a small table in Jupyter."""
        return run_html(self)

    def to_json(self) -> dict[str, Any]:
        """The ``hone run --json`` object (strict JSON: NaN becomes null)."""
        out = {
            "run_id": self.run_id,
            "status": self.status,
            "epochs_run": self.epochs_run,
            "metrics": self.metrics,
            "history": self.history,
            "wall_seconds": self.wall_seconds,
            "message": self.message,
        }
        if self.notes.get("repairs"):
            out["repairs"] = self.notes["repairs"]
        if self.notes.get("task"):  # what data.task: auto decided, and why
            out["task"] = self.notes["task"]
        if self.members:
            out["members"] = [
                {"run_id": m.run_id, "status": m.status, "metrics": m.metrics} for m in self.members
            ]
        return clean_json(out)  # type: ignore[no-any-return]
