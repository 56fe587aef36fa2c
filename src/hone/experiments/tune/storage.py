"""The Optuna storage a study lives in: ``hone.store.studies`` (it sits with the run store, so
reading a store's studies does not load what trains them)."""

from hone.store.studies import (
    JOURNAL,
    JOURNAL_SUFFIXES,
    SQLITE_FILE,
    default_storage,
    find_storage,
    is_journal,
    open_storage,
    store_storages,
)

__all__ = [
    "JOURNAL",
    "JOURNAL_SUFFIXES",
    "SQLITE_FILE",
    "default_storage",
    "find_storage",
    "is_journal",
    "open_storage",
    "store_storages",
]
