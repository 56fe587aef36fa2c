"""``hone studies list``: the Optuna studies of a store (or of any ``--storage`` URL)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hone.cli.common import JsonOpt, StoreOpt, echo_json, err, fmt, out, plain, show
from hone.errors import ConfigError
from hone.store.runstore import resolve_store_root

studies_app = typer.Typer(help="List hone tune's Optuna studies.", no_args_is_help=True)

_SENSE = {"maximize": " (max)", "minimize": " (min)"}
StorageOpt = Annotated[
    str | None, typer.Option(help="Optuna RDB URL (default: <store>/studies.db).")
]


def _summaries(storage: str) -> list[dict[str, Any]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        studies = optuna.get_all_study_summaries(storage, include_best_trial=True)
    except Exception as exc:  # a bad URL, a missing driver, a damaged file
        raise ConfigError(f"--storage: cannot open {storage!r}: {str(exc)[:200]}") from None
    rows = []
    for s in studies:
        study = optuna.load_study(study_name=s.study_name, storage=storage)
        states: dict[str, int] = {}
        for t in study.get_trials(deepcopy=False):
            state = t.state.name.lower()
            states[state] = states.get(state, 0) + 1
        best = s.best_trial
        rows.append(
            {
                "name": s.study_name,
                "metric": s.user_attrs.get("metric"),
                "direction": s.direction.name.lower() if s.direction else None,
                "trials": s.n_trials,
                "states": states,
                "best_value": best.value if best else None,
                "best_run": best.user_attrs.get("run_id") if best else None,
                "best_params": best.params if best else {},
                "started": s.datetime_start.isoformat(" ", "minutes") if s.datetime_start else None,
            }
        )
    return rows


@studies_app.command("list")
def studies_list(
    store: StoreOpt = None, storage: StorageOpt = None, json_out: JsonOpt = False
) -> None:
    """Studies with their trial counts by state, best value and the best trial's run."""
    root = resolve_store_root(store)
    if storage is None:
        db = root / "studies.db"
        if not db.is_file():
            if json_out:
                echo_json([])
            else:
                err.print(f"no studies in {plain(str(root))} (hone tune creates studies.db)")
            return
        storage = f"sqlite:///{db.resolve()}"
    rows = _summaries(storage)
    if json_out:
        echo_json(rows)
        return
    table = Table(title=f"studies in {plain(storage)}", title_justify="left", box=None)
    table.caption = "trials: total (complete/pruned/failed)"
    table.caption_justify = "left"
    for col in ("study", "metric", "trials", "best", "best run"):
        table.add_column(col, no_wrap=True, min_width=8 if col == "study" else None)
    for r in rows:
        st = r["states"]
        counts = (
            f"{r['trials']} ({st.get('complete', 0)}/{st.get('pruned', 0)}/{st.get('fail', 0)})"
        )
        table.add_row(
            plain(r["name"]),
            plain(r["metric"] or "-"),
            counts,
            fmt(r["best_value"])
            + {"maximize": " (max)", "minimize": " (min)"}.get(r["direction"], ""),
            plain(r["best_run"] or "-"),
        )
    show(table)
    out.print(
        f"browse them: optuna-dashboard {storage}  (pip install optuna-dashboard)",
        highlight=False,
        soft_wrap=True,
    )
