"""Evaluation a run put off until someone asks for it.

A ``hone tune`` trial is judged on one split, so it evaluates only that one when it ends
(``hone.run(..., evaluate=("val",))``) and records ``extra.deferred_evaluation``: the splits
still to do. The first reader of the run's full record (diagnosis, the run's report page,
``hone runs show``) rebuilds the model from its saved weights and data from its config,
evaluates every split with full reports, and completes the record in place. Most trials are
never looked at, so most never pay for it.
"""

from __future__ import annotations

from typing import Any

from hone.errors import HoneError
from hone.evaluate.report import SPLITS, evaluate_splits
from hone.runs.rebuild import DataCache, load_run
from hone.store.runstore import RunStore

__all__ = ["DEFERRED", "SPLITS", "complete_evaluation", "deferrable"]

DEFERRED = "deferred_evaluation"  # extra key: the splits not evaluated yet


def deferrable(config: Any, notes: dict[str, Any]) -> bool:
    """Whether the run can be rebuilt from its record later: not data or a module given
    from Python, which its config cannot bring back."""
    return config.data.dataset != "python" and not notes.get("model")


def complete_evaluation(store: RunStore, run_id: str, cache: DataCache | None = None) -> str | None:
    """Evaluate every split of a run whose evaluation was deferred and complete its record
    (metrics, ``evaluation.json``). Returns why it could not (the record then stays as it
    is and says so), else ``None``; a run with nothing deferred is left alone."""
    record = store.get_run(run_id, with_history=False)
    if not record.extra.get(DEFERRED):
        return None
    if store.read_only:  # nowhere to keep the result: the record is shown as it stands
        return "the store is read-only, so the deferred evaluation was not done"
    try:
        _, built = load_run(record.id, store.root, cache)
    except (HoneError, OSError) as exc:
        why = f"deferred evaluation could not be done: {exc}"
        store.update_results(record.id, record.metrics, {**record.extra, "evaluation_error": why})
        return why
    metrics, reports = evaluate_splits(
        built.model, built.data, built.loss_fn, built.output_activation, SPLITS
    )
    if record.status != "diverged":
        store.save_json(record.id, "evaluation.json", reports)
    extra = {k: v for k, v in record.extra.items() if k not in (DEFERRED, "evaluation_error")}
    store.update_results(record.id, {**record.metrics, **metrics}, extra)
    return None
