"""Diagnosing a recorded run. The rules are pure (``hone.diagnose``: they read evidence and
never train); what a diagnosis needs that the run did not record at its end — the evaluation
a tune trial deferred — is done here first, and the record completed in place."""

from __future__ import annotations

from pathlib import Path

from hone.diagnose import Diagnosis, Evidence, diagnose_run, load_evidence
from hone.runs.deferred import complete_evaluation
from hone.runs.rebuild import DataCache
from hone.store.runstore import RunStore

__all__ = ["diagnose_recorded", "evidence_of"]


def evidence_of(store: RunStore, run_id: str, cache: DataCache | None = None) -> Evidence:
    """Everything diagnosis reads about a run, its deferred evaluation done first so the
    findings see every split (``cache``: data already loaded, see ``load_run``)."""
    complete_evaluation(store, run_id, cache)
    return load_evidence(store, run_id)


def diagnose_recorded(run_id: str, store: str | Path | RunStore | None = None) -> Diagnosis:
    """The diagnosis of a recorded run (a unique prefix or suffix of its id is enough)."""
    if isinstance(store, RunStore):
        return diagnose_run(evidence_of(store, store.resolve_id(run_id)))
    with RunStore(store) as rs:
        return diagnose_run(evidence_of(rs, rs.resolve_id(run_id)))
