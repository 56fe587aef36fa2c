"""``hone runs list | show | delete | check | repair | cleanup``: the recorded runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hone.cli.common import (
    JsonOpt,
    StoreOpt,
    echo_json,
    err,
    existing_store,
    fmt,
    metrics_table,
    out,
    plain,
    safe,
    set_args,
    show,
    strip_control,
)
from hone.cli.store import store_check, store_repair
from hone.errors import ConfigError, StoreError
from hone.progress import shorten, shorten_apart
from hone.store import STATUSES, RunStore
from hone.store.repair import cleanup_killed

runs_app = typer.Typer(
    help="List, show, delete, check and repair recorded runs.", no_args_is_help=True
)

_STATUS_STYLE = {"completed": "green", "diverged": "red", "failed": "red", "killed": "red",
                 "interrupted": "yellow", "stopped": "yellow", "pruned": "yellow",
                 "running": "cyan"}  # fmt: skip


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@runs_app.command("list")
def runs_list(
    store: StoreOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many runs.", min=1)] = 50,
    status: Annotated[
        str | None,
        typer.Option(help="Only runs with this status (running, killed, completed, ...)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List recorded runs, newest first."""
    if status is not None and status not in STATUSES:
        raise ConfigError(f"--status: unknown status '{status}'; valid: {', '.join(STATUSES)}")
    with RunStore(existing_store(store)) as rs:
        records = rs.list_runs(limit=limit, status=status)
        shown = {r.id: rs.shown_status(r) for r in records}
        root = rs.root
        missing = len(rs.unindexed_folders())
    if json_out:
        echo_json([{**r.to_json(), "status": shown[r.id]} for r in records])
        return
    show(_runs_table(records, shown, root))
    if missing:
        err.print(
            f"[yellow]warning[/]: {missing} run folder(s) are not in the index; see "
            "`hone runs check`",
            highlight=False,
        )


def _short_names(names: list[str], width: int) -> dict[str, str]:
    """``experiment/variant`` names keep the variant (what tells runs apart) whole if they
    can; names that differ always stay different (cut in the middle where they agree)."""
    short = {}
    for name in set(names):
        head, _, variant = name.rpartition("/")
        if len(name) <= width or not head or len(variant) > width - 5:
            short[name] = shorten(name, width)
        else:
            short[name] = shorten(head, width - len(variant) - 1) + "/" + variant
    if len(set(short.values())) == len(short):
        return short
    return shorten_apart(names, width)


# Columns given up first when a terminal is narrow ("created": the id starts with the date and
# time; then the seconds, the epochs, the test accuracy); id, name, seed, status and the
# validation accuracy always stay.
_DROPPED_FIRST = ("created", "s", "epochs", "test_acc")
_MIN_NAME = 24


def _runs_table(records: list[Any], shown: dict[str, str], root: Path) -> Table:
    """Ids, status and numbers always whole; the name gets the width left, cut in the middle
    (distinct names stay distinct); the least useful columns leave first when it is narrow."""
    width = out.width if out.is_terminal else 160
    columns: dict[str, list[Any]] = {
        "id": [r.id for r in records],
        "name": [r.name for r in records],
        "seed": ["-" if r.seed is None else str(r.seed) for r in records],
        "status": [shown[r.id] + (" (damaged)" if r.damaged else "") for r in records],
        "created": [time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created)) for r in records],
        "epochs": [str(r.epochs_run) for r in records],
        "val_acc": [fmt(r.metrics.get("val_accuracy")) for r in records],
        "test_acc": [fmt(r.metrics.get("test_accuracy")) for r in records],
        "s": [_seconds(r.wall_seconds) for r in records],
    }
    widths = {h: max([len(h)] + [len(v) for v in vals]) for h, vals in columns.items()}
    want = min(widths["name"], _MIN_NAME)
    for head in _DROPPED_FIRST:
        fixed = sum(w for h, w in widths.items() if h != "name") + 2 * (len(widths) - 1)
        if fixed + want <= width:
            break
        del columns[head], widths[head]
    fixed = sum(w for h, w in widths.items() if h != "name") + 2 * (len(widths) - 1)
    short = _short_names(columns["name"], max(8, min(widths["name"], width - fixed)))
    columns["name"] = [plain(short[n]) for n in columns["name"]]
    columns["status"] = [
        f"[{_STATUS_STYLE.get(v.split()[0], '')}]{v}[/]" for v in columns["status"]
    ]
    table = Table(title=f"runs in {safe(root)}", title_justify="left", box=None, pad_edge=False)
    numbers = {"seed", "epochs", "val_acc", "test_acc", "s"}
    for head in columns:
        table.add_column(head, no_wrap=True, justify="right" if head in numbers else "left")
    for row in zip(*columns.values(), strict=True):
        table.add_row(*row)
    return table


@runs_app.command("show")
def runs_show(run_id: str, store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """Show one run: status, config, final metrics and the last epochs."""
    import yaml

    with RunStore(existing_store(store)) as rs:
        run_id = rs.resolve_id(run_id)
        _complete_evaluation(rs, run_id)
        record = rs.get_run(run_id)
        status = rs.shown_status(record)
    if json_out:
        echo_json({**record.to_json(), "status": status})
        return
    out.print(
        f"[bold]{record.id}[/] {safe(record.name, keep_newlines=False)}: {status}, "
        f"{record.epochs_run} epochs, {_seconds(record.wall_seconds)} s",
        highlight=False,
    )
    if record.message:
        out.print(f"message: {safe(record.message)}", highlight=False)
    _print_links(record.extra)
    show(metrics_table(record.metrics, "final metrics"))
    epochs = record.history.get("epoch", [])
    if epochs:
        table = Table(title="last epochs", title_justify="left")
        keys = [k for k in record.history if k not in ("epoch_seconds",)]
        for key in keys:
            table.add_column(plain(key), justify="right")
        for i in range(max(0, len(epochs) - 5), len(epochs)):
            table.add_row(*(fmt(record.history[k][i]) for k in keys))
        show(table)
    out.print("config:")
    out.print(yaml.safe_dump(record.config, sort_keys=False), markup=False, highlight=False)


def _complete_evaluation(rs: RunStore, run_id: str) -> None:
    """A tune trial evaluated only the split it was judged on; its other splits are evaluated
    the first time someone reads it. Say so while it happens (it loads the data and the
    model); a run with nothing deferred costs nothing (PyTorch is not even imported)."""
    deferred = rs.get_run(run_id, with_history=False).extra.get("deferred_evaluation")
    if not deferred:  # the key hone.runs.deferred.DEFERRED
        return
    what = (f"evaluating run {run_id} on its other splits ({', '.join(map(str, deferred))}): a "
            "tune trial leaves them until the run is first read")  # fmt: skip
    from hone.runs.deferred import complete_evaluation  # PyTorch: only when there is work

    if err.is_terminal:
        with err.status(what):
            complete_evaluation(rs, run_id)
    else:
        err.print(what, highlight=False, soft_wrap=True)
        complete_evaluation(rs, run_id)


def _print_links(extra: dict[str, Any]) -> None:
    """What live diagnosis saw while the run trained, and the runs ``--repair`` linked."""
    repair: dict[str, Any] = extra["repair"] if isinstance(extra.get("repair"), dict) else {}
    fix = f"{repair.get('code')} -> {set_args(repair.get('patch') or {})}"
    if extra.get("repair_of"):
        out.print(f"repair of run {safe(extra['repair_of'])} ({safe(fix)})", highlight=False)
    if extra.get("repaired_by"):
        out.print(f"repaired by run {safe(extra['repaired_by'])} ({safe(fix)})", highlight=False)
    watch: dict[str, Any] = extra["watch"] if isinstance(extra.get("watch"), dict) else {}
    for t in watch.get("timeline") or []:
        if isinstance(t, dict):
            out.print(
                f"while training: epoch {t.get('epoch')} (step {t.get('step')}): "
                f"{safe(str(t.get('code')))} ({safe(str(t.get('severity')))})",
                highlight=False,
            )


@runs_app.command("delete")
def runs_delete(
    run_id: str,
    store: StoreOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking.", metavar="")
    ] = False,
) -> None:
    """Delete a run's record and its files (asks first on a terminal; --yes in scripts)."""
    with RunStore(existing_store(store)) as rs:
        if not run_id.strip():
            rs.resolve_id(run_id)  # the empty-id error, with what to do
        record = rs.get_run(run_id, with_history=False)
        if not yes:
            if not sys.stdin.isatty():
                raise StoreError(
                    f"not deleting run {record.id} without confirmation: standard input is not a "
                    "terminal; pass --yes to delete from a script"
                )
            answer = typer.prompt(
                f"delete run {record.id} ({strip(record.name)}, {record.status})? [y/N]",
                default="n",
                show_default=False,
            )
            if answer.strip().lower() not in ("y", "yes"):
                out.print("kept")
                raise typer.Exit(1)
        deleted = rs.delete_run(run_id)
    out.print(f"deleted run {deleted}")


def strip(text: str) -> str:
    return strip_control(text, keep_newlines=False)[:60]


@runs_app.command("check")
def runs_check(store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """The index against the run folders (the same as `hone store check`)."""
    store_check(store, json_out)


@runs_app.command("repair")
def runs_repair(store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """Rebuild the index from the run folders (the same as `hone store repair`)."""
    store_repair(store, json_out)


@runs_app.command("cleanup")
def runs_cleanup(store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """Record `killed` for runs left `running` by a process that died (kill -9, a crash)."""
    dead = cleanup_killed(store)
    if json_out:
        echo_json({"killed": dead})
        return
    out.print(f"marked {len(dead)} run(s) killed" + (f": {', '.join(dead)}" if dead else ""))
