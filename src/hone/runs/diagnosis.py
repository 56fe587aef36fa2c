"""Diagnosing a recorded run. The rules are pure (``hone.diagnose``: they read evidence and
never train); what a diagnosis needs that the run did not record at its end — the evaluation
a tune trial deferred, the reference of what is achievable on its data — is done here first:
the record is completed in place, the reference cached per dataset."""

from __future__ import annotations

from pathlib import Path

from hone.diagnose import Diagnosis, Evidence, diagnose_run, load_evidence
from hone.runs.deferred import complete_evaluation
from hone.runs.rebuild import DataCache
from hone.runs.reference import reference_of
from hone.store.runstore import RunStore

__all__ = ["diagnose_recorded", "evidence_of"]


def evidence_of(store: RunStore, run_id: str, cache: DataCache | None = None) -> Evidence:
    """Everything diagnosis reads about a run, its deferred evaluation done first so the
    findings see every split, and the reference of what is achievable on its data
    (``cache``: data already loaded, see ``load_run``)."""
    complete_evaluation(store, run_id, cache)
    evidence = load_evidence(store, run_id)
    evidence.reference = reference_of(store, evidence.config)
    return evidence


def diagnose_recorded(run_id: str, store: str | Path | RunStore | None = None) -> Diagnosis:
    """The diagnosis of a recorded run (a unique prefix or suffix of its id is enough)."""
    if isinstance(store, RunStore):
        return diagnose_run(evidence_of(store, store.resolve_id(run_id)))
    with RunStore(store) as rs:
        return diagnose_run(evidence_of(rs, rs.resolve_id(run_id)))
