"""``hone run`` and ``hone model``: train one config, or show the model it builds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hone.cli.common import (
    ConfigArg,
    JsonOpt,
    QuietOpt,
    SetOpt,
    StackOpt,
    StoreOpt,
    echo_json,
    err,
    fmt,
    metrics_table,
    out,
    safe,
    set_args,
    show,
)
from hone.config import load_config, parse_set
from hone.errors import ConfigError, HoneError
from hone.store import RunStore

__all__ = ["EXIT_CODES", "model_cmd", "run_cmd"]

EXIT_CODES = {"completed": 0, "interrupted": 130, "diverged": 1, "failed": 1}


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
    if resume is not None and (config is not None or set_ or seed is not None or repair):
        raise ConfigError(
            "--resume continues a run with its recorded config; drop the config, --set, --seed "
            "and --repair"
        )
    from hone.runs.stacking import check_stack

    check_stack(stack)
    overrides, store = _overrides(set_, seed, store)
    shown = not (quiet or json_out)
    result = _train(config, overrides, store, shown, resume, repair, repair_attempts, stack)
    if json_out:
        echo_json(result.to_json())
    elif not quiet:
        _print_result(result)
    if report:
        from hone.report.render import render_report  # matplotlib and jinja2

        with RunStore(result.store) as rs:
            path = render_report(rs, result.run_id)
        err.print(f"report: {safe(path)}", highlight=False, soft_wrap=True)
    _print_outcome(result, store is not None, json_out)
    code = EXIT_CODES.get(result.status, 1)
    if result.status == "interrupted" and "SIGTERM" in result.message:
        code = 143  # 128 + SIGTERM, as a shell reports a process ended by it
    raise typer.Exit(code)


def _overrides(
    set_: list[str] | None, seed: int | None, store: Path | None
) -> tuple[dict[str, Any], Path | None]:
    """The ``--set`` overrides with ``--seed``; ``--set store=DIR`` is ``--store DIR`` (which
    wins when both are given)."""
    overrides = parse_set(set_ or [])
    if seed is not None:
        overrides["seed"] = seed
    if "store" in overrides:
        load_config(None, {"store": overrides["store"]})  # the same checks as in a config file
        store = store or Path(str(overrides.pop("store")))
    return overrides, store


def _train(
    config: Path | None,
    overrides: dict[str, Any],
    store: Path | None,
    shown: bool,
    resume: str | None,
    repair: bool,
    attempts: int,
    stack: str,
) -> Any:
    """A new run, a resumed one, or one that restarts with its top prescription."""
    if resume is not None:
        from hone.runs import resume as resume_run

        return resume_run(resume, progress=shown, store=store)
    if repair:  # each restart applies a prescription the probe measured
        from hone.experiments.probe import probing_diagnoser
        from hone.runs.restart import run_with_repair

        return run_with_repair(config, attempts=attempts, progress=shown, store=store,
                               on_repair=_say_repair if shown else None,
                               diagnose=probing_diagnoser(), overrides=overrides)  # fmt: skip
    from hone.runs import run

    return run(config, progress=shown, store=store, stack=stack, overrides=overrides)


def _print_result(result: Any) -> None:
    """The run's name, its metrics table, its members (an ensemble), notes and folder."""
    title = (
        f"run {result.run_id}: {result.status}, {result.epochs_run} epochs in "
        f"{result.wall_seconds:.1f} s"
    )
    out.print(f"[bold]{safe(result.config.name, keep_newlines=False)}[/]", highlight=False)
    if result.metrics:
        show(metrics_table(result.metrics, title))
    else:  # interrupted before its evaluation: no table of nothing
        out.print(title, highlight=False)
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


def _print_outcome(result: Any, store_given: bool, json_out: bool) -> None:
    """How a run that did not complete ended, and what to do next."""
    if result.status != "completed":
        err.print(f"[bold red]{result.status}[/]: {safe(result.message)}", highlight=False)
    if result.status in ("interrupted", "failed") and result.notes.get("checkpoint_epoch"):
        what = (
            "evaluate and record it"
            if "after training" in result.message
            else f"continue from epoch {result.notes['checkpoint_epoch']}"
        )
        err.print(
            f"{what}: hone run --resume {result.run_id}"
            + (f" --store {safe(result.store)}" if store_given else ""),
            highlight=False,
            soft_wrap=True,
        )
    if result.status == "diverged" and not json_out:
        _what_to_try(result.store, result.run_id)


def _say_repair(repair: Any) -> None:
    err.print(
        f"[yellow]repair[/]: run {repair.run_id} stopped at epoch {repair.epoch} with "
        f"{repair.code}; starting again with {safe(set_args(repair.patch))} ({safe(repair.why)})",
        highlight=False,
        soft_wrap=True,
    )


def _what_to_try(store: Path, run_id: str) -> None:
    """After a divergence: the diagnosis's first finding and its top prescription."""
    from hone.runs import diagnose_recorded

    try:
        findings = diagnose_recorded(run_id, store).findings
    except HoneError:
        return  # the run is recorded; `hone diagnose` will say what it cannot read
    top = next(((f, p) for f in findings for p in f.prescriptions if p.patch), None)
    if top is not None:
        finding, fix = top
        err.print(f"likely cause: {finding.code}; try: {safe(fix.why)}", highlight=False)
        err.print(f"  hone run ... {safe(set_args(fix.patch))}", highlight=False, soft_wrap=True)
    err.print(f"full diagnosis: hone diagnose {run_id}", highlight=False, soft_wrap=True)


def _print_notes(notes: dict[str, Any]) -> None:
    """What the run did beyond the obvious: the task data.task: auto chose, target scaling,
    early stopping, transfer, class weighting, sampling, data loading."""
    _print_task(notes)
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
    for line in data.get("ignored") or []:
        out.print(f"note: {safe(line)}", highlight=False)
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
    if data.get("dropped_rows"):
        n = data["dropped_rows"]
        out.print(f"missing values: {n} row{'s' * (n != 1)} dropped (data.missing: drop)")


def _print_task(notes: dict[str, Any]) -> None:
    """The task ``data.task: auto`` decided and why, and how the targets were scaled."""
    task = notes.get("task")
    if isinstance(task, dict) and task.get("reason"):
        out.print(f"task: {safe(task.get('task'))} — {safe(task['reason'])}", highlight=False)
    scaling = notes.get("target_scale")
    if isinstance(scaling, dict):
        mean, std = scaling.get("mean") or [], scaling.get("std") or []
        stats = (
            f"mean {mean[0]:.6g}, std {std[0]:.6g}"
            if len(mean) == 1 and len(std) == 1
            else "per output column"
        )
        out.print(f"targets: trained standardised ({stats}); results in their units",
                  highlight=False)  # fmt: skip
    elif isinstance(scaling, str):
        out.print(f"target scaling: {safe(scaling)}", highlight=False)


def model_cmd(config: ConfigArg = None, set_: SetOpt = None, json_out: JsonOpt = False) -> None:
    """Print the model's layer table with output shapes and parameter counts."""
    from hone.assemble import build_run
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
