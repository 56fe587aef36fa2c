"""Persistence: the SQLite run store and per-run artifacts (config, weights, preprocessing)."""

from hone.store.records import STATUSES, ExperimentRecord, RunRecord, clean_json
from hone.store.runstore import MIN_DELETE_PREFIX, RunStore, resolve_store_root

__all__ = [
    "MIN_DELETE_PREFIX",
    "STATUSES",
    "ExperimentRecord",
    "RunRecord",
    "RunStore",
    "clean_json",
    "resolve_store_root",
]
