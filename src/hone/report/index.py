"""``hone report --all``: every run, experiment and study of a store as linked pages, with an
index page to browse them without the command line.

Only pages whose run, experiment or study changed since they were written are rendered again.
Run pages reuse the data other run pages loaded (one load of MNIST for all its runs), and
with many pages to write they are rendered in worker processes, one per core.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, as_completed
from pathlib import Path
from typing import Any

from hone.cluster.processes import local_pool
from hone.errors import HoneError, ReadOnlyStoreError
from hone.report.render import page_path, render_page, render_report, study_names
from hone.report.study import study_changed
from hone.store.runstore import RunStore

__all__ = ["render_all"]

PARALLEL_FROM = 8  # pages to write before worker processes pay for their start
CACHED_DATASETS = 2  # data bundles a process keeps for the next run pages

_CACHE: dict[str, Any] = {}  # in a worker (or here): data loaded for earlier run pages
_STORES: dict[str, RunStore] = {}  # in a worker: the store it renders from, opened once


def render_all(
    store: RunStore,
    progress: Callable[[str, int, int], None] | None = None,
    limit: int = 10_000,
    jobs: int | None = None,
) -> tuple[Path, dict[str, int]]:
    """Write each page that does not exist yet (or is older than what it shows), then the
    index. ``jobs``: worker processes (default: one per core, when there are enough pages to
    pay for starting them; given, they are used whatever the number of pages).

    Returns the index's path and counts of pages written, kept and failed: a page that cannot
    be rendered (a damaged run) is listed as such on the index, and the rest still are.
    """
    if store.read_only:
        raise ReadOnlyStoreError(
            f"the run store {store.root} is read-only, and --all writes its pages into it "
            f"({store.root / 'reports'}); write single pages elsewhere with hone report ID "
            "--out FILE.html"
        )
    runs = store.list_runs(limit=limit)
    experiments = store.list_experiments(limit)
    studies = study_names(store)
    items: list[tuple[str, str, float]] = [
        *((r.id, "run", r.finished or r.created) for r in runs),
        *((e.id, "experiment", e.finished or e.created) for e in experiments),
        *((f"study-{name}", "study", study_changed(store, name)) for name in studies),
    ]
    todo = []
    for stem, kind, changed in items:
        path = page_path(store, stem)
        if not (path.is_file() and path.stat().st_mtime >= changed):
            todo.append((stem, stem.removeprefix("study-") if kind == "study" else stem))
    counts = {"written": 0, "kept": len(items) - len(todo), "failed": 0}
    failed: dict[str, str] = {}
    for i, (stem, why) in enumerate(_render(store, todo, jobs), start=1):
        if why is None:
            counts["written"] += 1
        else:
            failed[stem] = why
            counts["failed"] += 1
        if progress is not None:
            progress(stem, counts["kept"] + i, len(items))
    ctx: dict[str, Any] = {
        "root": str(store.root),
        "runs": [{**_run_row(store, r), "failed": failed.get(r.id)} for r in runs],
        "experiments": [{**_experiment_row(e), "failed": failed.get(e.id)} for e in experiments],
        "lr_finds": _lr_finds(store),
        "studies": [
            {"name": n, "page": f"study-{n}", "failed": failed.get(f"study-{n}")} for n in studies
        ],
    }
    return render_page(store, "index.html", ctx, page_path(store, "index")), counts


def _render(
    store: RunStore, todo: list[tuple[str, str]], jobs: int | None
) -> Iterator[tuple[str, str | None]]:
    """``(stem, None)`` for each page written, ``(stem, why)`` for one that failed, as they
    finish: here, or in worker processes when there are many."""
    workers = min(jobs or os.cpu_count() or 1, len(todo))
    if workers <= 1 or (jobs is None and len(todo) < PARALLEL_FROM):
        for stem, ident in todo:
            yield stem, render_one(str(store.root), ident, store)
        return
    with local_pool(workers) as pool:
        futures: dict[Future[str | None], str] = {
            pool.submit(render_one, str(store.root), ident): stem for stem, ident in todo
        }
        for fut in as_completed(futures):
            yield futures[fut], fut.result()


def render_one(root: str, ident: str, store: RunStore | None = None) -> str | None:
    """Write one page (module-level: a worker runs it); ``None``, or why it failed."""
    if store is None:
        store = _STORES.get(root) or _STORES.setdefault(root, RunStore(root))
    while len(_CACHE) > CACHED_DATASETS:
        del _CACHE[next(iter(_CACHE))]
    try:
        render_report(store, ident, cache=_CACHE)
    except HoneError as exc:
        return str(exc)[:200]
    return None


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _run_row(store: RunStore, r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "status": store.shown_status(r),
        "seed": r.seed,
        "created": _when(r.created),
        "epochs": r.epochs_run,
        "val": r.metrics.get("val_accuracy"),
        "test": r.metrics.get("test_accuracy"),
        "seconds": r.wall_seconds,
    }


def _experiment_row(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind,
        "name": e.name,
        "status": e.status,
        "created": _when(e.created),
        "variants": len(e.spec.get("variants", [])),
        "seeds": len(e.spec.get("seeds", [])),
    }


def _lr_finds(store: RunStore) -> list[dict[str, str]]:
    """``hone lr-find`` plots kept in the store, newest first (linked from the index)."""
    folder = store.root / "lr-find"
    if not folder.is_dir():
        return []
    plots = sorted(folder.glob("*.png"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [{"name": p.stem, "href": f"../lr-find/{p.name}"} for p in plots[:100]]
