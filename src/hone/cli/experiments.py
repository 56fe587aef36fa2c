"""``hone compare``, ``improve`` and ``experiments list|show`` (tune, lr-find: cli.search)."""

from __future__ import annotations

import re
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
    SetOpt,
    StackOpt,
    StoreOpt,
    base_config,
    echo_json,
    err,
    notes_to,
    out,
    safe,
    show,
)
from hone.cluster import parse_backend
from hone.config import load_config
from hone.errors import ConfigError
from hone.experiments.stats import format_p as fmt_p
from hone.experiments.variants import from_file, grid
from hone.experiments.variants import ladder as make_ladder
from hone.progress import RunsBar
from hone.store import RunStore
from hone.store.owner import is_alive
from hone.text import plain

experiments_app = typer.Typer(
    help="List and show experiments (compare, improve, tune re-runs).", no_args_is_help=True
)

VaryOpt = Annotated[list[str] | None, typer.Option("--vary", help="KEY=V1,V2 (repeatable).")]
SeedsOpt = Annotated[
    int, typer.Option("--seeds", help="Seeds per variant (paired; 3+ for a verdict).", min=1)
]


def _variants_table(summary: dict[str, Any]) -> Table:
    """Short labels (v1, v2, ...) keep every column, the p column included, readable at 80-120
    columns; the key below the table says what each label is. Below 110 columns numbers get
    three decimals, and a grid's "vs" column (always the baseline) moves into the header."""

    metric = safe(summary["metric"])
    d = 4 if out.width >= 110 or not out.is_terminal else 3
    rows = summary["variants"]
    labels = {row["name"]: f"v{i}" if i else "base" for i, row in enumerate(rows)}
    against = {row["vs"]["variant"] for row in rows if row.get("vs")}
    one_reference = len(against) <= 1
    table = Table(
        title=f"{metric}: mean [95 % CI] (n seeds); "
        f"{summary['runs_done']}/{summary['runs_planned']} runs",
        title_justify="left",
    )
    diff_head = "paired diff [95 % CI]"
    if one_reference and against:
        diff_head = f"diff vs {labels.get(next(iter(against)), '?')} [95 % CI]"
    columns = ["", f"{metric} (n)", *([] if one_reference else ["vs"])]
    for col in (*columns, diff_head, "p", "verdict", "test"):
        table.add_column(col, no_wrap=col in ("", "p"), justify="right" if col == "p" else "left")
    for row in rows:
        s = row["summary"]
        vs = row.get("vs")
        diff = ""
        if vs and vs["t_ci_low"] == vs["t_ci_low"]:  # not NaN
            diff = f"{vs['mean_diff']:+.{d}f} [{vs['t_ci_low']:+.{d}f}, {vs['t_ci_high']:+.{d}f}]"
        elif vs:
            diff = f"{vs['mean_diff']:+.{d}f}"
        ci = (
            f" [{s['ci_low']:.{d}f}, {s['ci_high']:.{d}f}]"
            if s["n"] > 1 and s["ci_low"] == s["ci_low"]
            else ""
        )
        test = row["final_test"]
        cells = [
            labels[row["name"]],
            f"{s['mean']:.{d}f}{ci} ({s['n']})" if s["n"] else "- (0)",
            *([] if one_reference else [labels.get(vs["variant"], "") if vs else ""]),
            diff,
            format_p(vs["p_value"]) if vs else "",
            vs["verdict"] if vs else "",
            f"{test['mean']:.{d}f}" if test["n"] else "-",
        ]
        table.add_row(*cells)
    return table


def _variants_key(summary: dict[str, Any]) -> None:
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
    _hanging("  test =", f"mean {test} over the same runs, shown for the record and never used "
             "to choose")  # fmt: skip


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
    )
    from hone.runs.stacking import check_stack

    check_stack(stack)
    where = parse_backend(backend, address)
    with RunStore(store) as rs:
        if resume:
            exp_id = resolve_resumable(rs, resume, "compare")
        else:
            base = base_config(config, set_)
            if experiment is not None:
                variants, is_ladder = from_file(base, experiment)
            elif vary:
                variants = make_ladder(base, vary) if ladder else grid(base, vary)
                is_ladder = ladder
            else:
                raise ConfigError(
                    "give --vary KEY=V1,V2 (repeatable), --experiment FILE or --resume ID"
                )
            chosen = check_metric(base, metric)
            seed_list = list(range(base.seed, base.seed + seeds))
            exp_id = plan_experiment(
                rs, "ladder" if is_ladder else "compare", base, variants, seed_list, chosen
            )
        if not (quiet or json_out):
            err.print(f"experiment {exp_id}", highlight=False)
        with RunsBar(f"compare {exp_id[-6:]}", quiet or json_out) as bar:
            say = notes_to(quiet or json_out)
            run_pending(rs, exp_id, jobs, bar, stack=stack, say=say, backend=where)
        summary = summarize_experiment(rs, exp_id)
        rs.finish_experiment(exp_id, "completed" if summary["complete"] else "incomplete", summary)
    if json_out:
        echo_json(summary)
    elif not quiet:
        _print_compare(summary)
        out.print(f"experiment {exp_id}; report: hone report {exp_id}", soft_wrap=True)


def _print_compare(summary: dict[str, Any]) -> None:
    show(_variants_table(summary))
    _variants_key(summary)


def format_p(p: float | None) -> str:
    return fmt_p(p)


def _parse_budget(budget: str | None) -> tuple[int | None, float | None]:
    if budget is None:
        return None, None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)", budget.strip())
    if m:
        return None, float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
    if budget.strip().isdigit():
        return int(budget), None
    raise ConfigError(
        f"--budget: expected a duration like 20m / 90s / 1h or a number of runs, got {budget!r}"
    )


def _budget_ok(budget: str | None) -> None:
    runs, seconds = _parse_budget(budget)
    if (runs is not None and runs < 1) or (seconds is not None and seconds <= 0):
        raise ConfigError(f"--budget: {budget!r} leaves nothing to run; give e.g. 30 or 20m")


def improve_cmd(
    config: ConfigArg = None,
    set_: SetOpt = None,
    budget: Annotated[str | None, typer.Option(help="20m, 1h, or a number of runs.")] = None,
    seeds: SeedsOpt = 3,
    metric: MetricOpt = None,
    jobs: JobsOpt = None,
    stack: StackOpt = "auto",
    backend: BackendOpt = "local",
    address: AddressOpt = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted improve.")
    ] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Diagnose, prescribe, verify each remedy over seeds, adopt what helps, repeat."""
    from hone.experiments.compare import check_metric, resolve_resumable
    from hone.experiments.improve import improve
    from hone.runs.stacking import check_stack

    check_stack(stack)
    where = parse_backend(backend, address)
    with RunStore(store) as rs:
        if resume:
            exp_id = resolve_resumable(rs, resume, "improve")
            spec = rs.get_experiment(exp_id).spec
            base = load_config(spec["config"])
            runs, seconds = spec.get("budget_runs"), spec.get("budget_seconds")
            chosen, n_seeds = spec["metric"], len(spec["seeds"])
        else:
            exp_id = None
            base = base_config(config, set_)
            _budget_ok(budget)
            runs, seconds = _parse_budget(budget)
            chosen, n_seeds = check_metric(base, metric), seeds
        with RunsBar("improve", quiet or json_out) as bar:
            result = improve(
                rs,
                base,
                seeds=n_seeds,
                metric=chosen,
                budget_runs=runs,
                budget_seconds=seconds,
                exp_id=exp_id,
                jobs=jobs,
                stack=stack,
                backend=where,
                say=notes_to(quiet or json_out),
                progress=bar,
                announce=None
                if quiet or json_out
                else lambda e: err.print(
                    f"experiment {e} (resume with: hone improve --resume {e})",
                    highlight=False,
                    soft_wrap=True,
                ),
            )
    if json_out:
        echo_json(result)
    elif not quiet:
        _print_improve(result, chosen)


def _print_improve(result: dict[str, Any], chosen: str) -> None:
    b = result["baseline"]
    out.print(
        f"[bold]baseline[/]: {chosen} {b['mean']:.4f} "
        f"[{b['ci_low']:.4f}, {b['ci_high']:.4f}] (n={b['n']})"
    )
    for step in result["adopted"]:
        s = step["summary"]
        out.print(
            f"[green]adopted[/] {safe(step['name'])}: {s['mean']:.4f} "
            f"(gain {step['mean_diff']:+.4f}, "
            f"95 % CI [{step['t_ci_low']:+.4f}, {step['t_ci_high']:+.4f}], "
            f"p {format_p(step['p_value'])})"
        )
    for r in result["rejected"]:
        diff = f" ({r['mean_diff']:+.4f}, p {format_p(r['p_value'])})" if "mean_diff" in r else ""
        out.print(f"[dim]rejected[/] {safe(r['name'])}: {safe(r['reason'])}{diff}")
    for c in result.get("considered", []):
        out.print(f"[dim]not tried[/] {safe(c['name'])}: {safe(c['fate'])}", highlight=False)
    t = result["final_test"]
    out.print(
        f"stopped: {result['stop_reason']}; {result['runs_used']} runs. Final "
        f"{t['metric']} (evaluated once, at the end): {t['mean']:.4f}"
    )
    out.print("final config:")
    out.print(result["final_config"], markup=False, highlight=False)


@experiments_app.command("list")
def experiments_list(store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """Experiments, newest first."""
    with RunStore(store) as rs:
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

    with RunStore(store) as rs:
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
        _print_improve(improve_result, record.spec.get("metric", "metric"))
    elif summary is not None:
        if record.kind == "improve":
            out.print("this improve did not finish; its runs so far:")
        _print_compare(summary)
    out.print(f"report: hone report {record.id}", highlight=False, soft_wrap=True)
