"""Moving a finished run from one store to another.

A worker on another machine (a Ray task) trains into a store of its own, packs each run's
folder into a ``RunBundle`` and returns it; the driver unpacks it into its store, which stays
the single source of truth. The index row comes from the run's ``run.json``, exactly as
``hone runs repair`` would rebuild it, so a bundled run reads like one trained here.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from hone.errors import StoreError
from hone.store.files import atomic_write_bytes, describe_os_error
from hone.store.repair import insert_record
from hone.store.runstore import RunStore

__all__ = ["RunBundle", "pack_run", "unpack_run"]


@dataclass(frozen=True)
class RunBundle:
    """One run's folder as bytes, keyed by the path inside the folder."""

    run_id: str
    files: dict[str, bytes]

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.files.values())


def pack_run(store: RunStore, run_id: str) -> RunBundle:
    folder = store.run_dir(run_id)
    if not (folder / "run.json").is_file():
        raise StoreError(f"run {run_id}: {folder / 'run.json'} is missing; cannot pack it")
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(".tmp")
    }
    return RunBundle(run_id, files)


def _safe(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise StoreError(f"a run bundle names the file {name!r} outside its run folder")
    return path


def unpack_run(store: RunStore, bundle: RunBundle, recorded_store: str | None = None) -> str:
    """Write ``bundle`` into ``store`` and index it; returns the run id.

    ``recorded_store`` replaces the worker's temporary store in the recorded config, so the
    run names the store it lives in, as a run trained here does."""
    run_id = bundle.run_id
    if _safe(run_id).name != run_id:
        raise StoreError(f"a run bundle has a bad run id {run_id!r}")
    target = store.run_dir(run_id)
    if target.exists():
        raise StoreError(f"run {run_id} is already in {store.root}; a run is imported once")
    for name in bundle.files:  # every name checked before anything is written
        _safe(name)
    files = dict(bundle.files)
    if "run.json" not in files:
        raise StoreError(f"the bundle of run {run_id} has no run.json; it cannot be indexed")
    record = json.loads(files["run.json"])
    if recorded_store is not None:
        record["config"]["store"] = recorded_store
        files["run.json"] = json.dumps(record).encode()
        if "config.yaml" in files:
            config = yaml.safe_load(files["config.yaml"]) or {}
            config["store"] = recorded_store
            files["config.yaml"] = yaml.safe_dump(config, sort_keys=False).encode()
    incoming = store.root / "incoming" / run_id  # outside runs/: repair never sees half a run
    try:
        if incoming.exists():
            shutil.rmtree(incoming)
        for name, data in files.items():
            path = incoming / Path(*PurePosixPath(name).parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(incoming, target)
    except OSError as exc:
        raise StoreError(describe_os_error(exc, target)) from None
    with store._write() as db:
        insert_record(db, record)
    return run_id
