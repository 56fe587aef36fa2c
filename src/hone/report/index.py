"""``hone report --all``: every run, experiment and study of a store as linked pages, with an
index page to browse them without the command line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hone.errors import HoneError, ReadOnlyStoreError
from hone.report.render import page_path, render_page, render_report, study_names
from hone.store.runstore import RunStore

__all__ = ["render_all"]


def render_all(
    store: RunStore, progress: Callable[[str, int, int], None] | None = None, limit: int = 10_000
) -> tuple[Path, dict[str, int]]:
    """Write each page that does not exist yet (or is older than its run), then the index.

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
        *((f"study-{name}", "study", time.time()) for name in studies),
    ]
    counts = {"written": 0, "kept": 0, "failed": 0}
    failed: dict[str, str] = {}
    for i, (stem, kind, changed) in enumerate(items, start=1):
        path = page_path(store, stem)
        if kind != "study" and path.is_file() and path.stat().st_mtime >= changed:
            counts["kept"] += 1
        else:
            ident = stem.removeprefix("study-") if kind == "study" else stem
            try:
                render_report(store, ident)
                counts["written"] += 1
            except HoneError as exc:
                failed[stem] = str(exc)[:200]
                counts["failed"] += 1
        if progress is not None:
            progress(stem, i, len(items))
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


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _run_row(store: RunStore, r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "status": store.shown_status(r),
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
