"""Persistence: the SQLite run store and per-run artifacts (config, weights, preprocessing)."""

from hone.store.runstore import STATUSES, RunRecord, RunStore, clean_json, resolve_store_root

__all__ = ["STATUSES", "RunRecord", "RunStore", "clean_json", "resolve_store_root"]
