"""``hone tune`` (an Optuna study, then the best config re-run on fresh seeds) and ``hone
lr-find`` (the learning-rate range test)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer

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
    fmt,
    notes_to,
    out,
    runs_bar,
    safe,
    say_held_back,
    set_args,
    show,
)
from hone.cluster import parse_backend
from hone.errors import ConfigError
from hone.store import RunStore, resolve_store_root
from hone.store.files import atomic_write_bytes

__all__ = ["lr_find_cmd", "tune_cmd"]

MIN_TRUSTED = 20  # complete trials before parameter importance means much (the study page too)


def tune_cmd(
    config: ConfigArg = None,
    space: Annotated[Path, typer.Option("--space", help="Search space YAML.")] = Path("space.yaml"),
    trials: Annotated[
        int, typer.Option("--trials", help="Trials to add to the study.", min=1)
    ] = 20,
    sampler: Annotated[str, typer.Option(help="random | grid | qmc | tpe | cmaes")] = "tpe",
    pruner: Annotated[
        str,
        typer.Option(
            help="none | median | hyperband | asha | diagnosis (a critical live finding), "
            "or one +diagnosis, e.g. median+diagnosis"
        ),
    ] = "median",
    storage: Annotated[
        str | None,
        typer.Option(help="A journal file or an Optuna RDB URL (default: the store's journal)."),
    ] = None,
    study: Annotated[str | None, typer.Option(help="Study name (resumes when it exists).")] = None,
    jobs: JobsOpt = None,
    stack: StackOpt = "auto",
    stack_size: Annotated[
        int | None,
        typer.Option(
            "--stack-size",
            help="Trials trained as one stacked model with --stack auto (default: from the "
            "model's size and the device).",
            min=1,
        ),
    ] = None,
    backend: BackendOpt = "local",
    address: AddressOpt = None,
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
    from hone.experiments.compare import check_metric, validated
    from hone.experiments.tune import load_space, rerun_best, tune
    from hone.runs.stacking import check_stack

    check_stack(stack)
    where = parse_backend(backend, address)
    silent = quiet or json_out
    with runs_bar("tune", silent, "trials") as bar:
        bar.phase("loading the data")
        base, held = validated(base_config(config, set_), metric)
        say_held_back(bar, held)
        specs = load_space(space, base)
        chosen = check_metric(base, metric, varied=[s.key for s in specs])
        if metric is None and chosen == "val_r2":
            bar.say("tuned on val_r2: the space changes what the loss measures, so trials' "
                    "losses are on different scales (or name a --metric)")  # fmt: skip
        root = resolve_store_root(store or base.store)
        result = tune(base, specs, trials=trials, metric=chosen, store=str(root),
                      storage=storage, study_name=study, sampler=sampler, pruner=pruner,
                      jobs=jobs, progress=bar, backend=where, stack=stack,
                      stack_size=stack_size, say=notes_to(bar))  # fmt: skip
    final: dict[str, Any] = {}
    if result.best_params and seeds_final > 0:
        with RunStore(root) as rs, runs_bar("final re-run", silent) as bar:
            final = rerun_best(rs, base, result, chosen, seeds_final, jobs, bar, stack,
                               notes_to(bar), where)  # fmt: skip
    payload = {**{k: v for k, v in result.__dict__.items()}, "metric": chosen, "final": final}
    if json_out:
        echo_json(payload)
    elif not quiet:
        _print_study(result, chosen, final)


def _print_study(result: Any, chosen: str, final: dict[str, Any]) -> None:
    """The study's counts, what pruned its trials, the best parameters as ``--set`` lines,
    importances, edge warnings and the fresh-seed re-run."""
    c = result.counts
    states = ("complete", "pruned", "fail", "running", "waiting")
    total = sum(c.get(k, 0) for k in states) or 1
    # Trials the study stopped before they trained, or a killed process left, are not
    # failures of the space: counted apart (a Ctrl-C read as "38 % failed").
    apart = {"not_started": "never started", "killed": "left by a killed process"}
    failed = c.get("fail", 0) - sum(c.get(k, 0) for k in apart)
    extra = "".join(f", {c[k]} {what}" for k, what in apart.items() if c.get(k))
    out.print(
        f"study [bold]{safe(result.study_name)}[/] ({safe(result.storage)}): "
        f"{c.get('complete', 0)} complete, {c.get('pruned', 0)} pruned, "
        f"{failed} failed ({failed / total:.0%}; {c.get('diverged', 0)} diverged){extra}",
        highlight=False,
    )
    for cause, epochs in sorted(result.pruned_by.items(), key=lambda kv: -len(kv[1])):
        by = "the metric (Optuna's pruner)" if cause == "metric" else f"diagnosis: {cause}"
        out.print(
            f"  pruned by {safe(by)}: {len(epochs)} trial{'s' * (len(epochs) != 1)}, "
            f"at epoch {_epochs(epochs)}",
            highlight=False,
        )
    if result.best_params:
        out.print(f"best trial {chosen} = {fmt(result.best_value)}; to use it:", highlight=False)
        out.print(f"  {safe(set_args(result.best_params))}", highlight=False, soft_wrap=True)
    elif set(result.pruned_by) - {"metric"} and not c.get("fail", 0):
        # every trial stopped by a diagnosis finding: the base config, not the space
        found = ", ".join(sorted(set(result.pruned_by) - {"metric"}))
        out.print(f"no trial completed: diagnosis pruned them ({safe(found)}), whatever the "
                  "space drew, so the base config is the likelier cause: run it and read "
                  "`hone diagnose RUN` first", highlight=False)  # fmt: skip
    else:  # every trial failed or diverged: nothing to use
        hint = "; a trial diverges where its learning rate is too large" if c["diverged"] else ""
        out.print(f"no trial completed, so there is no best {chosen} to use: narrow the "
                  f"space{hint}", highlight=False)  # fmt: skip
    complete = c.get("complete", 0)
    if result.importances and complete < MIN_TRUSTED:
        out.print(f"  importance: left out; {complete} complete trials are too few to trust it "
                  f"(it needs {MIN_TRUSTED})", highlight=False)  # fmt: skip
    elif result.importances:
        for key, value in sorted(result.importances.items(), key=lambda kv: -kv[1]):
            out.print(f"  importance {safe(key)}: {value:.3f}", highlight=False)
    for w in result.edge_warnings:
        out.print(f"[yellow]warning[/]: {safe(w)}", highlight=False)
    if final:
        row = final["variants"][0]
        s = row["summary"]
        out.print(
            f"best config re-run on {s['n']} fresh seeds (not the one it was chosen on): "
            f"{chosen} {s['mean']:.4f} "
            f"[95 % CI {s['ci_low']:.4f}, {s['ci_high']:.4f}]; final {row['final_test']['metric']} "
            f"{row['final_test']['mean']:.4f}",
            highlight=False,
        )
        out.print(f"  experiment {final['experiment']}", highlight=False, soft_wrap=True)


def _epochs(epochs: list[int]) -> str:
    """``5`` or ``5-12 (median 7)``."""
    if min(epochs) == max(epochs):
        return str(epochs[0])
    return f"{min(epochs)}-{max(epochs)} (median {sorted(epochs)[len(epochs) // 2]})"


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

    if not 0 < start < end:
        raise ConfigError(f"--start/--end: need 0 < start < end, got {start} and {end}")
    base = base_config(config, set_)
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
