"""The ``hone`` command line. Each command is a thin shell over the Python API."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hone import cli_analysis, cli_experiments, cli_runs, cli_search, cli_studies
from hone.cli_common import (
    ConfigArg,
    JsonOpt,
    QuietOpt,
    SetOpt,
    StackOpt,
    StoreOpt,
    echo_json,
    err,
    fmt,
    out,
    plain,
    safe,
    set_args,
    show,
)
from hone.errors import ConfigError, HoneError

app = typer.Typer(
    help="hone: diagnose what holds a neural network back, and prove what helps.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cli_runs.runs_app, name="runs")


def _version(value: bool) -> None:
    if value:
        from hone import __version__

        typer.echo(f"hone {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version.", metavar=""
        ),
    ] = False,
) -> None:
    """hone: diagnose what holds a neural network back, and prove what helps."""


app.command("diagnose")(cli_analysis.diagnose_cmd)
app.command("datacurve")(cli_analysis.datacurve_cmd)
app.command("eval")(cli_analysis.eval_cmd)
app.command("predict")(cli_analysis.predict_cmd)
app.command("compare")(cli_experiments.compare_cmd)
app.command("tune")(cli_search.tune_cmd)
app.command("lr-find")(cli_search.lr_find_cmd)
app.command("improve")(cli_experiments.improve_cmd)
app.add_typer(cli_experiments.experiments_app, name="experiments")
app.add_typer(cli_studies.studies_app, name="studies")

EXIT_CODES = {"completed": 0, "interrupted": 130, "diverged": 1, "failed": 1}


def metrics_table(metrics: dict[str, Any], title: str) -> Table:
    # As wide as its title (a title wraps to the table's width): Rich still fits it to the
    # terminal.
    table = Table(title=safe(title), title_justify="left", min_width=len(title))
    table.add_column("metric")
    splits = [s for s in ("train", "val", "test") if any(k.startswith(s + "_") for k in metrics)]
    for split in splits:
        table.add_column(split, justify="right")
    names: list[str] = []
    for key in metrics:
        name = key.split("_", 1)[1]
        if name not in names:
            names.append(name)
    for name in names:
        table.add_row(plain(name), *(fmt(metrics.get(f"{s}_{name}")) for s in splits))
    return table


def _say_repair(repair: Any) -> None:
    err.print(
        f"[yellow]repair[/]: run {repair.run_id} stopped at epoch {repair.epoch} with "
        f"{repair.code}; starting again with {safe(set_args(repair.patch))} ({safe(repair.why)})",
        highlight=False,
        soft_wrap=True,
    )


@app.command("run")
def run_cmd(
    config: ConfigArg = None,
    set_: SetOpt = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (overrides seed:).")
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    store: StoreOpt = None,
    report: Annotated[
        bool, typer.Option("--report", help="Write the HTML run report at the end.", metavar="")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            help="Continue this interrupted or killed run from its last checkpoint.",
            metavar="RUN",
        ),
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="A critical finding in the first third of training restarts the run with its "
            "top prescription (both runs recorded and linked).",
        ),
    ] = False,
    repair_attempts: Annotated[
        int, typer.Option("--repair-attempts", help="Most restarts with --repair.", min=1)
    ] = 2,
    stack: StackOpt = "auto",
) -> None:
    """Train, evaluate and record a model from a config (default: the blobs baseline)."""
    from hone.api import resume as resume_run
    from hone.api import run
    from hone.config import parse_set

    if resume is not None and (config is not None or set_ or seed is not None or repair):
        raise ConfigError(
            "--resume continues a run with its recorded config; drop the config, --set, --seed "
            "and --repair"
        )
    from hone.experiments.compare import check_stack

    check_stack(stack)
    overrides = parse_set(set_ or [])
    if seed is not None:
        overrides["seed"] = seed
    if "store" in overrides:  # --set store=DIR is --store DIR (which wins when both are given)
        from hone.config import load_config

        load_config(None, {"store": overrides["store"]})  # the same checks as in a config file
        store = store or Path(str(overrides.pop("store")))
    shown = not (quiet or json_out)
    if resume is not None:
        result = resume_run(resume, progress=shown, store=store)
    elif repair:
        from hone.experiments.repair import run_with_repair

        result = run_with_repair(config, attempts=repair_attempts, progress=shown, store=store,
                                 on_repair=_say_repair if shown else None, **overrides)  # fmt: skip
    else:
        result = run(config, progress=shown, store=store, stack=stack, **overrides)
    if json_out:
        echo_json(result.to_json())
    elif not quiet:
        title = (
            f"run {result.run_id}: {result.status}, {result.epochs_run} epochs in "
            f"{result.wall_seconds:.1f} s"
        )
        out.print(f"[bold]{safe(result.config.name, keep_newlines=False)}[/]", highlight=False)
        show(metrics_table(result.metrics, title))
        if result.members:
            members = Table(title="ensemble members", title_justify="left")
            for col in ("member run", "status", "val_acc", "test_acc"):
                members.add_column(col)
            for m in result.members:
                members.add_row(
                    m.run_id,
                    m.status,
                    fmt(m.metrics.get("val_accuracy")),
                    fmt(m.metrics.get("test_accuracy")),
                )
            show(members)
            if result.notes.get("stacked"):
                out.print(f"members trained as one stacked model ({result.notes['stacked']})")
            elif result.notes.get("not_stacked"):
                out.print(f"members trained one by one: {safe(result.notes['not_stacked'])}")
        _print_notes(result.notes)
        out.print(
            f"recorded in {safe(result.store / 'runs' / result.run_id)}",
            highlight=False,
            soft_wrap=True,
        )
    if report:
        from hone.report import render_report
        from hone.store import RunStore

        with RunStore(result.store) as rs:
            path = render_report(rs, result.run_id)
        err.print(f"report: {safe(path)}", highlight=False, soft_wrap=True)
    if result.status != "completed":
        err.print(f"[bold red]{result.status}[/]: {safe(result.message)}", highlight=False)
    if result.status in ("interrupted", "failed") and result.notes.get("checkpoint_epoch"):
        err.print(
            f"continue from epoch {result.notes['checkpoint_epoch']}: hone run --resume "
            f"{result.run_id}" + (f" --store {safe(result.store)}" if store else ""),
            highlight=False,
            soft_wrap=True,
        )
    if result.status == "diverged" and not json_out:
        _what_to_try(result.store, result.run_id)
    code = EXIT_CODES.get(result.status, 1)
    if result.status == "interrupted" and "SIGTERM" in result.message:
        code = 143  # 128 + SIGTERM, as a shell reports a process ended by it
    raise typer.Exit(code)


@app.command("report")
def report_cmd(
    ident: Annotated[
        str | None, typer.Argument(help="A run id, an experiment id or a study name.")
    ] = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all", help="Every page of the store, and an index page linking them.", metavar=""
        ),
    ] = False,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Where to write the HTML file.")
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Open it in the default browser.", metavar="")
    ] = False,
    index: Annotated[int, typer.Option(help="Test record whose outputs the run page shows.")] = 0,
    store: StoreOpt = None,
) -> None:
    """Write a self-contained HTML report for a run, an experiment or a study (or, with
    --all, every one of them and an index page)."""
    from hone.report import render_report
    from hone.store import RunStore

    if all_ == (ident is not None):
        raise ConfigError("give a run id, an experiment id or a study name, or --all (not both)")
    with RunStore(store) as rs:
        if all_:
            if out_path is not None:
                raise ConfigError("--out: not with --all (pages go to <store>/reports/)")
            from hone.progress import RunsBar as _Bar
            from hone.report.index import render_all

            with _Bar("report --all", quiet=False, unit="pages") as bar:
                path, counts = render_all(rs, bar)
            out.print(
                f"{counts['written']} pages written, {counts['kept']} up to date"
                + (f", {counts['failed']} failed (marked on the index)" if counts["failed"] else "")
            )
        else:
            assert ident is not None
            path = render_report(rs, ident, out_path, index)
    size = f"{path.stat().st_size / 1024:.0f} KB"
    out.print(f"report: {safe(path)} ({size})", highlight=False, soft_wrap=True)
    if open_:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


@app.command("export")
def export_cmd(
    ident: Annotated[str, typer.Argument(help="A run id (or prefix); with --to, also exp-...")],
    where: Annotated[
        str | None,
        typer.Argument(
            help="The model file; with --to tensorboard the folder, with --to mlflow the "
            "tracking URI (default: MLflow's, e.g. sqlite:///mlflow.db).",
            metavar="OUT",
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="torchscript | onnx | safetensors")
    ] = "torchscript",
    to: Annotated[
        str | None,
        typer.Option("--to", help="tensorboard | mlflow: the run's curves, telemetry and config."),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Write a run's trained model, with its input transform, as TorchScript, ONNX or
    safetensors (no dataset files needed); or, with --to, a run's or an experiment's curves,
    telemetry and config as TensorBoard event files or into an MLflow tracking store."""
    if to is not None:
        from hone.store import RunStore
        from hone.tracking import export_to

        with RunStore(store) as rs:
            done = export_to(to, rs, ident, where)
        if to == "tensorboard":
            message = (
                f"wrote {done['runs']} run(s), {done['scalars']} scalars to {safe(where)}; "
                f"view with: tensorboard --logdir {safe(where)}"
            )
        else:
            message = (
                f"logged {done['runs']} run(s) to MLflow experiment '{safe(done['experiment'])}' "
                f"at {safe(done['uri'])}; view with: mlflow ui --backend-store-uri "
                f"{safe(done['uri'])}"
            )
        out.print(message, highlight=False, soft_wrap=True)
        return
    if where is None:
        raise ConfigError("export: give the file to write the model to (e.g. model.pt)")
    from hone.interop import export

    path = export(ident, fmt, Path(where), store)
    size = f"{path.stat().st_size / 1024:.0f} KB"
    out.print(f"wrote {safe(path)} ({fmt}, {size})", highlight=False, soft_wrap=True)


def _what_to_try(store: Path, run_id: str) -> None:
    """After a divergence: the diagnosis's first finding and its top prescription."""
    from hone.diagnose import diagnose_run, load_evidence
    from hone.store import RunStore

    try:
        with RunStore(store) as rs:
            findings = diagnose_run(load_evidence(rs, run_id)).findings
    except HoneError:
        return  # the run is recorded; `hone diagnose` will say what it cannot read
    top = next(((f, p) for f in findings for p in f.prescriptions if p.patch), None)
    if top is not None:
        finding, fix = top
        err.print(f"likely cause: {finding.code}; try: {safe(fix.why)}", highlight=False)
        err.print(f"  hone run ... {safe(set_args(fix.patch))}", highlight=False, soft_wrap=True)
    err.print(f"full diagnosis: hone diagnose {run_id}", highlight=False, soft_wrap=True)


def _print_notes(notes: dict[str, Any]) -> None:
    """What the run did beyond the obvious: early stopping, transfer, class weighting, sampling,
    data loading."""
    stopping = notes.get("early_stopping") or {}
    if stopping.get("stopped_epoch"):
        best = stopping.get("best_value")
        kept = (
            f"restored the weights of epoch {stopping['best_epoch']}"
            f" ({stopping['monitor']} {fmt(best)})"
            if stopping.get("restored")
            else "kept the last epoch's weights (restore_best is off)"
        )
        out.print(f"early stopping: stopped after epoch {stopping['stopped_epoch']}; {kept}")
    if "init_from" in notes:
        t = notes["init_from"]
        out.print(
            f"started from run {t['run']}: {len(t['loaded'])} tensors loaded, "
            f"{len(t['skipped_shape'])} skipped (shape), {len(t['reinitialised'])} new"
        )
        for line in t["skipped_shape"]:
            out.print(f"  skipped {safe(line)}")
    if notes.get("resumed_from_epoch"):
        out.print(f"resumed from the checkpoint of epoch {notes['resumed_from_epoch']}")
    for line in notes.get("log_to_warnings") or []:
        err.print(f"warning: {safe(line)}", highlight=False, soft_wrap=True)
    if "frozen" in notes:
        out.print(f"frozen: {safe(', '.join(notes['frozen']))}")
    if "class_weights" in notes:
        shown = ", ".join(f"{k}: {v:.3g}" for k, v in notes["class_weights"].items())
        out.print(f"class weights: {safe(shown)}")
    if notes.get("sampler") == "balanced":
        out.print("sampler: balanced (each class drawn equally often)")
    data = notes.get("data") or {}
    if data.get("cache"):
        out.print(
            f"images: decoded cache {data['cache']}; {data.get('skipped_images', 0)} unreadable "
            f"skipped; {len(data.get('ignored_files', []))} non-image files ignored"
        )
    for line in data.get("skipped_files") or []:
        out.print(f"  skipped {safe(line)}", highlight=False, soft_wrap=True)
    encoded = [c for c in data.get("columns") or [] if c.get("categories")]
    if encoded:
        shown = "; ".join(
            f"{c['name']} ({len(c['categories'])}: {', '.join(c['categories'][:6])}"
            + (", ..." if len(c["categories"]) > 6 else "")
            + ")"
            for c in encoded
        )
        out.print(f"one-hot encoded: {safe(shown)}", highlight=False)
    if data.get("filled_missing_cells"):
        out.print(
            f"missing values: {data['filled_missing_cells']} cells filled with training means"
        )


@app.command("model")
def model_cmd(config: ConfigArg = None, set_: SetOpt = None, json_out: JsonOpt = False) -> None:
    """Print the model's layer table with output shapes and parameter counts."""
    from hone.api import build_run
    from hone.config import load_config, parse_set
    from hone.nn.build import describe_model

    cfg = load_config(config, parse_set(set_ or []))
    known = _known_shape(cfg)
    if known is not None:  # MNIST-like: the shape is fixed, so the files are not needed
        import torch

        from hone.nn.build import build_model

        input_shape, n_outputs = known
        torch.manual_seed(cfg.seed)
        model: torch.nn.Module = build_model(cfg.model, input_shape, n_outputs)
    else:
        built = build_run(cfg)
        model, input_shape = built.model, built.data.input_shape
    rows = describe_model(model, input_shape)
    title = f"{cfg.name}: {cfg.model.kind} on input {input_shape}"
    table = Table(title=safe(title), title_justify="left")
    for col in ("layer", "type", "output shape"):
        table.add_column(col)
    table.add_column("params", justify="right")
    table.add_column("trainable")
    for row in rows:
        trainable = "yes" if row.trainable else "no"
        table.add_row(row.name, row.kind, str(row.output_shape), f"{row.params:,}", trainable)
    total = sum(p.numel() for p in model.parameters())
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if json_out:
        layers = [
            {"layer": r.name, "type": r.kind, "output_shape": list(r.output_shape),
             "params": r.params, "trainable": r.trainable}
            for r in rows
        ]  # fmt: skip
        echo_json({"name": cfg.name, "input_shape": list(input_shape),
                   "layers": layers, "params": total, "trainable": n_trainable})  # fmt: skip
        return
    show(table)
    out.print(f"total params: {total:,}  trainable: {n_trainable:,}")


def _known_shape(cfg: Any) -> tuple[tuple[int, ...], int] | None:
    """Input shape and outputs of datasets whose shape is fixed (MNIST, Fashion-MNIST)."""
    from hone.data.idx import DATASETS

    if cfg.data.dataset not in DATASETS or cfg.model.freeze or cfg.model.init_from:
        return None  # transfer needs the run's real build
    classes: list[str] = DATASETS[cfg.data.dataset]["classes"]  # type: ignore[assignment]
    return (1, 28, 28), len(classes)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one message and exit code 2, never a traceback.

    Typer's standalone mode handles usage errors, ``--help`` and exit codes; hone's own
    ``HoneError`` passes through it and is reported here.
    """
    import signal

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops hone as Ctrl-C does: recorded, not lost

    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        signal.signal(signal.SIGTERM, terminate)
    try:
        app(args=argv, prog_name="hone")
    except HoneError as exc:
        label = "[bold yellow]interrupted:[/]" if exc.exit_code == 130 else "[bold red]error:[/]"
        err.print(f"{label} {safe(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # output piped into head: not an error
        sys.exit(0)
    except KeyboardInterrupt:  # Ctrl-C outside training (loading data, writing a report)
        err.print("[bold red]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
