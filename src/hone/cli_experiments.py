"""``hone compare``, ``tune``, ``lr-find``, ``improve`` and ``experiments list``."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hone.cli_common import (
    ConfigArg,
    JsonOpt,
    QuietOpt,
    SetOpt,
    StoreOpt,
    echo_json,
    err,
    fmt,
    out,
    safe,
    set_args,
    show,
)
from hone.errors import ConfigError
from hone.progress import RunsBar

experiments_app = typer.Typer(
    help="List and show experiments (compare, improve, tune re-runs).", no_args_is_help=True
)

VaryOpt = Annotated[list[str] | None, typer.Option("--vary", help="KEY=V1,V2 (repeatable).")]
SeedsOpt = Annotated[
    int, typer.Option("--seeds", help="Seeds per variant (paired; 3+ for a verdict).", min=1)
]
JobsOpt = Annotated[int, typer.Option("--jobs", help="Parallel processes.", min=1)]
MetricOpt = Annotated[
    str | None, typer.Option("--metric", help="Default: val_accuracy (val_loss for regression).")
]


_Bar = RunsBar  # progress over an experiment's runs


def _base(config: Path | None, set_: list[str] | None) -> Any:
    from hone.config import load_config, parse_set

    return load_config(config, parse_set(set_ or []))


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
        note = (row.get("vs") or {}).get("note")
        if note:
            by_note.setdefault(note, []).append(f"v{i}" if i else "base")
    for note, labels in by_note.items():
        out.print(f"  note ({', '.join(labels)}): {safe(note)}", highlight=False)
    out.print(
        f"  test = mean {summary['variants'][0]['final_test']['metric']} over the same runs, "
        "shown for the record and never used to choose",
        highlight=False,
    )


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
    jobs: JobsOpt = 1,
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
        run_pending,
        summarize_experiment,
    )
    from hone.experiments.variants import from_file, grid
    from hone.experiments.variants import ladder as make_ladder
    from hone.store import RunStore

    with RunStore(store) as rs:
        if resume:
            exp_id = rs.resolve_experiment(resume)
        else:
            base = _base(config, set_)
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
        with _Bar(f"compare {exp_id[-6:]}", quiet or json_out) as bar:
            run_pending(rs, exp_id, jobs, bar)
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


def tune_cmd(
    config: ConfigArg = None,
    space: Annotated[Path, typer.Option("--space", help="Search space YAML.")] = Path("space.yaml"),
    trials: Annotated[
        int, typer.Option("--trials", help="Trials to add to the study.", min=1)
    ] = 20,
    sampler: Annotated[str, typer.Option(help="random | grid | qmc | tpe | cmaes")] = "tpe",
    pruner: Annotated[str, typer.Option(help="none | median | hyperband | asha")] = "median",
    storage: Annotated[
        str | None, typer.Option(help="Optuna RDB URL (default: SQLite in the store).")
    ] = None,
    study: Annotated[str | None, typer.Option(help="Study name (resumes when it exists).")] = None,
    jobs: JobsOpt = 1,
    seeds_final: Annotated[
        int,
        typer.Option(
            "--seeds-final", help="Fresh seeds for the best config's re-run (0: none).", min=0
        ),
    ] = 5,
    metric: MetricOpt = None,
    set_: SetOpt = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Search hyper-parameters with Optuna, then re-run the best config over seeds."""
    from hone.experiments.compare import (
        check_metric,
        plan_experiment,
        run_pending,
        summarize_experiment,
    )
    from hone.experiments.tune import load_space, tune
    from hone.experiments.variants import Variant
    from hone.store import RunStore, resolve_store_root

    base = _base(config, set_)
    specs = load_space(space, base)
    chosen = check_metric(base, metric)
    root = resolve_store_root(store or base.store)
    with _Bar("tune", quiet or json_out) as bar:
        result = tune(
            base,
            specs,
            trials=trials,
            metric=chosen,
            store=str(root),
            storage=storage,
            study_name=study,
            sampler=sampler,
            pruner=pruner,
            jobs=jobs,
            progress=bar,
        )
    final: dict[str, Any] = {}
    if result.best_params and seeds_final > 0:
        with RunStore(root) as rs:
            exp_id = plan_experiment(
                rs,
                "tune",
                base,
                [Variant("best", result.best_patch())],
                # Fresh seeds: the trials were selected on base.seed, so re-running on it would
                # give the winner's lucky draw again and an optimistic interval.
                list(range(base.seed + 1, base.seed + 1 + seeds_final)),
                chosen,
                {"study": result.study_name, "storage": result.storage, "fresh_seeds": True},
            )
            with _Bar("final re-run", quiet or json_out) as bar:
                run_pending(rs, exp_id, jobs, bar, command="compare")
            final = summarize_experiment(rs, exp_id)
            rs.finish_experiment(exp_id, "completed", {**final, "tune": result.__dict__})
    payload = {**{k: v for k, v in result.__dict__.items()}, "metric": chosen, "final": final}
    if json_out:
        echo_json(payload)
        return
    if quiet:
        return
    c = result.counts
    total = sum(v for k, v in c.items() if k != "diverged") or 1
    out.print(
        f"study [bold]{safe(result.study_name)}[/] ({safe(result.storage)}): "
        f"{c.get('complete', 0)} complete, {c.get('pruned', 0)} pruned, "
        f"{c.get('fail', 0)} failed ({c.get('fail', 0) / total:.0%}; {c['diverged']} diverged)"
    )
    out.print(f"best trial {chosen} = {fmt(result.best_value)}; to use it:", highlight=False)
    if result.best_params:
        out.print(f"  {safe(set_args(result.best_params))}", highlight=False, soft_wrap=True)
    for key, value in sorted(result.importances.items(), key=lambda kv: -kv[1]):
        out.print(f"  importance {safe(key)}: {value:.3f}")
    for w in result.edge_warnings:
        out.print(f"[yellow]warning[/]: {safe(w)}")
    if final:
        row = final["variants"][0]
        s = row["summary"]
        out.print(
            f"best config re-run on {s['n']} fresh seeds (not the one it was chosen on): "
            f"{chosen} {s['mean']:.4f} "
            f"[95 % CI {s['ci_low']:.4f}, {s['ci_high']:.4f}]; final {row['final_test']['metric']} "
            f"{row['final_test']['mean']:.4f} (experiment {final['experiment']})"
        )


def lr_find_cmd(
    config: ConfigArg = None,
    set_: SetOpt = None,
    start: Annotated[float, typer.Option(help="First learning rate.")] = 1e-7,
    end: Annotated[float, typer.Option(help="Last learning rate.")] = 10.0,
    steps: Annotated[int, typer.Option(help="Steps of the range test.", min=10, max=100_000)] = 200,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="PNG to write (default: <store>/lr-find/<name>-<time>.png)."),
    ] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """LR range test: loss against an exponentially growing learning rate, two suggestions
    and the one to use."""
    from hone.experiments.lr_find import lr_find
    from hone.report.plots import lr_find_png
    from hone.store.files import atomic_write_bytes
    from hone.store.runstore import resolve_store_root

    if not 0 < start < end:
        raise ConfigError(f"--start/--end: need 0 < start < end, got {start} and {end}")
    base = _base(config, set_)
    if store is not None:
        base = base.model_copy(update={"store": str(store)})
    finding = lr_find(base, start, end, steps)
    value, reason = finding.recommended()
    if plot is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        plot = resolve_store_root(base.store) / "lr-find" / f"{_file_name(base.name)}-{stamp}.png"
    if plot.is_dir():
        raise ConfigError(f"--plot: {plot} is a folder; give a file name such as lr.png")
    plot.parent.mkdir(parents=True, exist_ok=True)
    marks = {"steepest": finding.steepest, "min/10": finding.min_over_10}
    png = lr_find_png(finding.lrs, finding.losses, finding.smoothed, marks, value)
    atomic_write_bytes(plot, png)
    if json_out:
        echo_json({**finding.to_json(), "plot": str(plot)})
        return
    if quiet:
        return
    show(_lr_plot(finding.lrs, finding.smoothed))

    def lr(value: float | None) -> str:
        return "-" if value is None else f"{value:.3g}"

    out.print(
        f"suggestions: {lr(finding.steepest)} (steepest descent), "
        f"{lr(finding.min_over_10)} (minimum / 10)"
        + ("; the loss exploded before the last lr" if finding.stopped_early else "")
    )
    out.print(f"[bold]recommended: {lr(value)}[/] — {safe(reason)}")
    if value is not None:
        out.print(f"  {set_args({'train.optimizer.lr': value})}", soft_wrap=True, highlight=False)
    out.print(f"plot: {safe(plot)}", soft_wrap=True, highlight=False)


def _file_name(name: str) -> str:
    """A run name as a safe file name part."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60].strip("._") or "run"


def _lr_plot(lrs: list[float], losses: list[float], rows: int = 12, width: int = 60) -> str:
    """A small text plot of the smoothed loss against log10(lr)."""
    import math

    if len(lrs) < 2:
        return "(too few steps to plot)"
    lo, hi = min(losses), max(losses)
    cols = [
        round(
            (math.log10(lr) - math.log10(lrs[0]))
            / (math.log10(lrs[-1]) - math.log10(lrs[0]))
            * (width - 1)
        )
        for lr in lrs
    ]
    grid = [[" "] * width for _ in range(rows)]
    for c, loss in zip(cols, losses, strict=True):
        r = rows - 1 - round((loss - lo) / (hi - lo or 1) * (rows - 1))
        grid[r][c] = "•"
    lines = ["".join(row) for row in grid]
    return "\n".join(
        [f"loss {hi:.3g}", *lines, f"loss {lo:.3g}   lr {lrs[0]:.1e} … {lrs[-1]:.1e} (log scale)"]
    )


def format_p(p: float | None) -> str:
    from hone.experiments.stats import format_p as fmt_p

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
    jobs: JobsOpt = 1,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted improve.")
    ] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Diagnose, prescribe, verify each remedy over seeds, adopt what helps, repeat."""
    from hone.config import load_config
    from hone.experiments.compare import check_metric
    from hone.experiments.improve import improve
    from hone.store import RunStore

    with RunStore(store) as rs:
        if resume:
            exp_id = rs.resolve_experiment(resume)
            spec = rs.get_experiment(exp_id).spec
            base = load_config(spec["config"])
            runs, seconds = spec.get("budget_runs"), spec.get("budget_seconds")
            chosen, n_seeds = spec["metric"], len(spec["seeds"])
        else:
            exp_id = None
            base = _base(config, set_)
            _budget_ok(budget)
            runs, seconds = _parse_budget(budget)
            chosen, n_seeds = check_metric(base, metric), seeds
        with _Bar("improve", quiet or json_out) as bar:
            result = improve(
                rs,
                base,
                seeds=n_seeds,
                metric=chosen,
                budget_runs=runs,
                budget_seconds=seconds,
                exp_id=exp_id,
                jobs=jobs,
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
    from hone.store import RunStore

    with RunStore(store) as rs:
        records = rs.list_experiments()
    if json_out:
        echo_json([r.to_json() for r in records])
        return
    table = Table(title="experiments", title_justify="left")
    for col in ("id", "kind", "name", "status", "variants", "seeds"):
        table.add_column(col, no_wrap=col == "id")
    from hone.store.owner import is_alive

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
    from hone.store import RunStore

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
