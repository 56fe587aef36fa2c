"""Runs as Ray tasks (``--backend ray``), for every experiment that trains on a cluster.

The driver loads each dataset once and puts it in Ray's object store; every task gets it from
there instead of reading the source again. A task trains into a temporary store of its own (no
shared filesystem is needed) and returns each run's folder as a ``RunBundle``; the driver
unpacks it into its store, which stays the single source of truth. A worker that dies mid-run
is retried by Ray from the start, in a fresh temporary store, so each (variant, seed) ends with
exactly one recorded run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hone.cluster.backend import Backend
from hone.config import Config, load_config
from hone.config.data import DataConfig
from hone.data.base import RawData
from hone.data.load import data_key, load_raw, provided_raw
from hone.errors import HoneError
from hone.runs.unit import train_unit as train_here
from hone.store.bundle import RunBundle, pack_run, unpack_run
from hone.store.runstore import RunStore

__all__ = [
    "RayRunFailed",
    "SharedData",
    "UnitOutcome",
    "pack_new",
    "provided",
    "resources",
    "run_units",
    "temporary_store",
    "train_unit",
]

MAX_RETRIES = 3  # a worker process killed mid-run (a lost node, an OOM kill) is run again
STOP_WAIT = 10.0  # seconds a cancelled run has to record itself interrupted

Shared = tuple[dict[str, Any], RawData, dict[str, Any]]  # (data config, raw data, load report)


class RayRunFailed(HoneError):
    """A run raised inside a Ray task; what it recorded is already in the driver's store."""


@dataclass
class UnitOutcome:
    results: list[tuple[str, str]]  # (run_id, status) per config
    why: str | None  # why seeds ran one by one although they could have been stacked
    bundles: list[RunBundle] = field(default_factory=list)
    error: str = ""


def resources(cfg: Config) -> tuple[int, int]:
    """(CPUs, GPUs) a run asks Ray for: ``train.threads`` (auto: 1) and ``train.device``."""
    threads = cfg.train.threads if isinstance(cfg.train.threads, int) else 1
    return threads, 1 if cfg.train.device.startswith("cuda") else 0


@contextmanager
def provided(shared: Shared | None) -> Iterator[None]:
    if shared is None:
        yield
        return

    data_cfg, raw, report = shared
    with provided_raw(DataConfig.model_validate(data_cfg), raw, report):
        yield


def temporary_store(tmp: str, sources: list[RunBundle]) -> str:
    """A worker's own store, holding the runs its configs start from."""
    root = str(Path(tmp) / "store")
    with RunStore(root) as store:
        for bundle in sources:
            unpack_run(store, bundle)
    return root


def pack_new(root: str, sources: list[RunBundle]) -> list[RunBundle]:
    """Every run the worker recorded (completed or not), not the ones it was given."""
    given = {b.run_id for b in sources}
    with RunStore(root) as store:
        return [pack_run(store, r.id) for r in store.list_runs() if r.id not in given]


def train_unit(
    cfgs: list[dict[str, Any]],
    threads: int,
    shared: Shared | None,
    sources: list[RunBundle] | None = None,
) -> UnitOutcome:
    """Runs in a Ray worker: one run, or one variant's seeds stacked."""
    with tempfile.TemporaryDirectory(prefix="hone-ray-") as tmp, provided(shared):
        root = temporary_store(tmp, sources or [])
        error, why = "", None
        results: list[tuple[str, str]] = []
        try:
            results, why = train_here(cfgs, root, threads)
        except Exception as exc:  # recorded as failed in the temporary store: ship that too
            error = f"{type(exc).__name__}: {exc}"
        bundles = pack_new(root, sources or [])
    return UnitOutcome(results, why, bundles, error)


class SharedData:
    """What a batch of configs reads from the driver, put in the object store once each:
    every distinct dataset, and every run that ``model.init_from`` starts from."""

    def __init__(self, ray: Any, store: RunStore) -> None:
        self.ray, self.store = ray, store
        self.refs: dict[str, Any] = {}
        self.runs: dict[str, Any] = {}

    def ref(self, cfg: Config) -> Any:
        if cfg.data.dataset == "python":
            return None
        key = data_key(cfg.data)
        if key not in self.refs:
            raw, report = load_raw(cfg.data, cache_dir=self.store.root / "cache")
            self.refs[key] = self.ray.put((cfg.data.model_dump(mode="json"), raw, report))
        return self.refs[key]

    def sources(self, cfg: Config) -> Any:
        """The runs a worker's temporary store must hold (a list of ``RunBundle``)."""
        run = cfg.model.init_from
        if not run:
            return []
        if run not in self.runs:
            packed = [pack_run(self.store, self.store.resolve_id(run))]
            self.runs[run] = self.ray.put(packed)
        return self.runs[run]


Unit = list[tuple[str, int, dict[str, Any]]]
Done = Callable[[Unit, UnitOutcome], None]


def run_units(
    store: RunStore,
    units: list[Unit],
    backend: Backend,
    jobs: int | None,
    done: Done,
    active: Callable[[list[Unit]], None] | None = None,
) -> None:
    """Train ``units`` as Ray tasks, at most ``jobs`` at once (None: as many as the cluster
    places). Each finished unit's runs are unpacked into ``store`` before ``done`` is told;
    a unit whose run raised is recorded, then ``RayRunFailed`` is raised."""
    queue = list(units)
    inflight: dict[Any, Unit] = {}
    limit = jobs or len(units)
    with backend.session() as ray:
        task = ray.remote(train_unit)
        shared = SharedData(ray, store)
        try:
            while queue or inflight:
                while queue and len(inflight) < limit:
                    unit = queue.pop(0)
                    cfg = load_config(unit[0][2])
                    cpus, gpus = resources(cfg)
                    ref = task.options(num_cpus=cpus, num_gpus=gpus, max_retries=MAX_RETRIES)
                    inflight[ref.remote([c for _, _, c in unit], cpus, shared.ref(cfg),
                                        shared.sources(cfg))] = unit  # fmt: skip
                if active is not None:
                    active(list(inflight.values()))
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
                for ref in ready:
                    unit, outcome = inflight.pop(ref), ray.get(ref)
                    _record(store, unit, outcome)
                    done(unit, outcome)
            if active is not None:
                active([])
        except BaseException:
            _stop(ray, store, inflight)
            raise


def _record(store: RunStore, unit: Unit, outcome: UnitOutcome) -> None:
    """Unpack a finished unit's runs here; raise when one of them raised on its worker."""
    for bundle in outcome.bundles:
        unpack_run(store, bundle, str(store.root))
    if outcome.error:
        seeds = ", ".join(str(seed) for _, seed, _ in unit)
        raise RayRunFailed(f"{unit[0][0]} seed {seeds} failed on a Ray worker: {outcome.error}")


def _stop(ray: Any, store: RunStore, inflight: dict[Any, Unit]) -> None:
    """Ctrl-C (or a failure): cancel what is in flight. A cancelled run records itself
    interrupted in its worker's store, as a local run does; keep those records here."""
    for ref in inflight:
        ray.cancel(ref, force=False)
    for ref in inflight:
        try:
            outcome: UnitOutcome = ray.get(ref, timeout=STOP_WAIT)
        except Exception:  # cancelled before it started, or the worker is gone
            continue
        for bundle in outcome.bundles:
            unpack_run(store, bundle, str(store.root))
