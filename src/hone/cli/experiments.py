"""``hone compare`` and ``experiments list|show`` (improve: cli.improve; tune: cli.search)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from hone.cli.common import (
    AddressOpt,
    BackendOpt,
    ConfigArg,
    JobsOpt,
    JsonOpt,
    MetricOpt,
    QuietOpt,
    SeedsOpt,
    SetOpt,
    StackOpt,
    StoreOpt,
    base_config,
    echo_json,
    existing_store,
    notes_to,
    out,
    runs_bar,
    safe,
    say_held_back,
    show,
)
from hone.cli.improve import print_improve
from hone.cli.tables import variants_table
from hone.cluster import parse_backend
from hone.errors import ConfigError
from hone.experiments.stats import format_p as fmt_p
from hone.experiments.variants import from_file, grid
from hone.experiments.variants import ladder as make_ladder
from hone.store import RunStore
from hone.store.owner import is_alive
from hone.text import plain

experiments_app = typer.Typer(
    help="List and show experiments (compare, improve, tune re-runs).", no_args_is_help=True
)

VaryOpt = Annotated[list[str] | None, typer.Option("--vary", help="KEY=V1,V2 (repeatable).")]


def _variants_key(summary: dict[str, Any], test_shown: bool = True) -> None:
    for i, row in enumerate(summary["variants"]):
        label = f"v{i}" if i else "base"
        out.print(f"  {label:>4}  {safe(row['name'], keep_newlines=False)}", highlight=False)
    by_note: dict[str, list[str]] = {}  # one line per note, naming the variants it is about
    for i, row in enumerate(summary["variants"]):
        for note in (row.get("missing"), (row.get("vs") or {}).get("note")):
            if note:
                by_note.setdefault(note, []).append(f"v{i}" if i else "base")
    for note, labels in by_note.items():
        _hanging(f"  note ({', '.join(labels)}):", plain(note))
    test = summary["variants"][0]["final_test"]["metric"]
    if test_shown:
        _hanging("  test =", f"mean {test} over the same runs, shown for the record and never "
                 "used to choose")  # fmt: skip
    else:
        _hanging("  test:", f"the final {test} column (never used to choose) needs a wider "
                 "terminal, or see --json")  # fmt: skip


def _hanging(label: str, text: str | Text) -> None:
    """``label text``, the text wrapping under itself at any width."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(label, text)
    out.print(grid, highlight=False)


def compare_cmd(
    config: ConfigArg = None,
    set_: SetOpt = None,
    vary: VaryOpt = None,
    ladder: Annotated[
        bool,
        typer.Option("--ladder", help="Apply each --vary on top of the previous step.", metavar=""),
    ] = False,
    experiment: Annotated[
        Path | None, typer.Option("--experiment", help="YAML with variants: [{name, patch}].")
    ] = None,
    seeds: SeedsOpt = 5,
    jobs: JobsOpt = None,
    stack: StackOpt = "auto",
    backend: BackendOpt = "local",
    address: AddressOpt = None,
    metric: MetricOpt = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Finish an interrupted experiment.")
    ] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compare variants over paired seeds: mean ± CI, paired differences and verdicts."""
    from hone.experiments.compare import (
        check_metric,
        plan_experiment,
        resolve_resumable,
        run_pending,
        summarize_experiment,
        validated,
    )
    from hone.runs.stacking import check_stack

    check_stack(stack)
    where = parse_backend(backend, address)
    with RunStore(store) as rs, runs_bar("compare", quiet or json_out) as bar:
        if resume:
            exp_id = resolve_resumable(rs, resume, "compare")
        else:
            bar.phase("loading the data and checking the variants")
            base, held = validated(base_config(config, set_), metric)
            say_held_back(bar, held)
            if experiment is not None:
                variants, is_ladder = from_file(base, experiment)
            elif vary:
                variants = make_ladder(base, vary) if ladder else grid(base, vary)
                is_ladder = ladder
            else:
                raise ConfigError(
                    "give --vary KEY=V1,V2 (repeatable), --experiment FILE or --resume ID"
                )
            chosen = check_metric(base, metric, variants=variants)
            if metric is None and chosen == "val_r2":
                bar.say("compared on val_r2: the variants change what the loss measures, so "
                        "their losses are on different scales (or name a --metric)")  # fmt: skip
            seed_list = list(range(base.seed, base.seed + seeds))
            extra = {"held_back": held} if held else None
            kind = "ladder" if is_ladder else "compare"
            exp_id = plan_experiment(rs, kind, base, variants, seed_list, chosen, extra)
        bar.title = f"compare {exp_id[-6:]}"
        bar.say(f"experiment {exp_id}", wrap=False)
        run_pending(rs, exp_id, jobs, bar, stack=stack, say=notes_to(bar), backend=where)
        bar.phase("summarizing")
        summary = summarize_experiment(rs, exp_id)
        rs.finish_experiment(exp_id, "completed" if summary["complete"] else "incomplete", summary)
    if json_out:
        echo_json(summary)
    elif not quiet:
        _print_compare(summary)
        out.print(f"report: hone report {exp_id}", soft_wrap=True)


def _print_compare(summary: dict[str, Any]) -> None:
    table, test_shown = variants_table(summary, out)
    show(table)
    _variants_key(summary, test_shown)


def format_p(p: float | None) -> str:
    return fmt_p(p)


@experiments_app.command("list")
def experiments_list(store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """Experiments, newest first."""
    with RunStore(existing_store(store)) as rs:
        records = rs.list_experiments()
    if json_out:
        echo_json([r.to_json() for r in records])
        return
    table = Table(title="experiments", title_justify="left")
    for col in ("id", "kind", "name", "status", "variants", "seeds"):
        table.add_column(col, no_wrap=col == "id")

    for r in records:
        owner = r.spec.get("owner") or {}
        status = r.status
        if status == "running" and not is_alive(owner.get("pid"), owner.get("host"),
                                                 owner.get("started"), None):  # fmt: skip
            status = "killed"
        table.add_row(
            r.id,
            r.kind,
            safe(r.name),
            status,
            str(len(r.spec.get("variants", []))),
            str(len(r.spec.get("seeds", []))),
        )
    show(table)


@experiments_app.command("show")
def experiments_show(
    exp_id: Annotated[str, typer.Argument(help="Experiment id (or a unique prefix).")],
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One experiment's results: the variants table (compare, ladder, tune re-run) or the
    improve ladder, recomputed from its recorded runs."""
    from hone.experiments.compare import summarize_experiment

    with RunStore(existing_store(store)) as rs:
        record = rs.get_experiment(exp_id)
        done = record.kind == "improve" and "baseline" in record.summary
        improve_result = record.summary if done else None
        summary = None if improve_result else summarize_experiment(rs, record.id)
    if json_out:
        echo_json({**record.to_json(), "summary": improve_result or summary})
        return
    out.print(
        f"[bold]{record.id}[/] ({record.kind}, {safe(record.name)}): {record.status}, "
        f"created {time.strftime('%Y-%m-%d %H:%M', time.localtime(record.created))}",
        highlight=False,
    )
    if improve_result:
        print_improve(improve_result, record.spec.get("metric", "metric"), record.spec["config"])
    elif summary is not None:
        if record.kind == "improve":
            out.print("this improve did not finish; its runs so far:")
        _print_compare(summary)
    out.print(f"report: hone report {record.id}", highlight=False, soft_wrap=True)
