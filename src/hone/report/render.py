"""Render a report page for a run, an experiment or a study, to one self-contained HTML file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import yaml
from jinja2 import Environment, PackageLoader, select_autoescape

from hone.errors import ReadOnlyStoreError, StoreError
from hone.experiments.stats import format_p
from hone.report.pages import experiment_context, run_context
from hone.report.study import study_context
from hone.store.files import atomic_write_text, write_error
from hone.store.records import clean_json
from hone.store.runstore import RunStore
from hone.store.studies import open_storage, store_storages
from hone.text import num, set_args
from hone.version import __version__

__all__ = ["page_path", "render_page", "render_report", "study_names"]


def _num(value: Any, spec: str = "%.4f") -> str:
    """The pages' ``num`` filter (``"%.4f"``, as templates write it): ``hone.text.num``."""
    return num(value, spec.removeprefix("%"))


def _yaml(value: Any) -> str:
    """Nested values as YAML, floats to 4 significant digits."""
    return str(yaml.safe_dump(_rounded(clean_json(value)), sort_keys=False,
                              allow_unicode=True)).strip()  # fmt: skip


def _rounded(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _metric(value: Any) -> str:
    """A metric in any unit: counts as they are, 4 decimals below 1,000, 6 significant digits
    below a million (a price's MAE of 5609.17), 4 above (an MSE of 4.464e+07)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}" if abs(value) < 1e3 else f"{value:.6g}" if abs(value) < 1e6 else (
        f"{value:.4g}")  # fmt: skip


def _environment() -> Environment:
    # Autoescape everything: run names, class labels and config values may contain markup.
    env = Environment(
        loader=PackageLoader("hone.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters["num"] = _num
    env.filters["metric"] = _metric
    env.filters["pval"] = format_p
    env.filters["yaml"] = _yaml  # readable nested values (tojson escapes quotes as \u0027)
    env.filters["set_args"] = set_args  # the same paste-ready --set text as the terminal
    return env


def study_names(store: RunStore) -> list[str]:
    """The studies in the store's study files (none when hone tune never ran)."""
    urls = store_storages(store.root)
    if not urls:
        return []
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return [s.study_name for url in urls
            for s in optuna.get_all_study_summaries(open_storage(url))]  # fmt: skip


def page_path(store: RunStore, stem: str) -> Path:
    """Where a page lives in the store: ``<store>/reports/<stem>.html``."""
    return store.root / "reports" / f"{stem}.html"


def render_report(
    store: RunStore,
    ident: str,
    out: Path | None = None,
    index: int = 0,
    cache: dict[str, Any] | None = None,
) -> Path:
    """Find what ``ident`` names (run id, experiment id, or study name) and write its page.
    ``cache``: data loaded for earlier run pages, reused by this one (``hone report --all``)."""
    template, ctx, stem = _resolve(store, ident, index, cache)
    return render_page(
        store, template, ctx, out or page_path(store, stem), explicit=out is not None
    )


def render_page(
    store: RunStore, template: str, ctx: dict[str, Any], path: Path, explicit: bool = False
) -> Path:
    """Render ``template`` with ``ctx`` to ``path``, atomically."""
    html = _environment().get_template(template).render(**ctx, version=__version__)
    if path.is_dir():
        raise StoreError(
            f"--out: {path} is a folder; give a file name such as {path / 'report.html'}"
        )
    if not explicit:
        if store.read_only:
            raise ReadOnlyStoreError(
                f"the run store {store.root} is read-only, so the report cannot be written to "
                f"{path}; write it elsewhere with --out FILE.html"
            )
        try:
            path.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise write_error(exc, path.parent) from None
    elif not path.parent.is_dir():
        raise StoreError(f"--out: the folder {path.parent} does not exist")
    # A new file renamed into place: a link planted at the destination is replaced, never
    # followed, so a report cannot overwrite a file elsewhere.
    return atomic_write_text(path, html)


def _resolve(
    store: RunStore, ident: str, index: int, cache: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any], str]:
    run_id, why_not = None, ""
    if not ident.startswith("exp-"):
        try:
            run_id = store.resolve_id(ident)
        except StoreError as exc:
            why_not = str(exc)
    if run_id is not None:
        return "run.html", run_context(store, run_id, index, cache), run_id
    try:
        exp_id = store.resolve_experiment(ident)
        return "experiment.html", experiment_context(store, exp_id), exp_id
    except StoreError as exc:
        if ident in study_names(store):
            return "study.html", study_context(store, ident), f"study-{ident}"
        for said in (why_not, str(exc)):  # a prefix of several, a run the index lost
            if "ambiguous" in said or "does not list it" in said:
                raise StoreError(said) from None
        raise StoreError(
            f"'{ident}' is not a run, an experiment or a study in {store.root} "
            "(see `hone runs list`, `hone experiments list`)"
        ) from None
