"""``hone report`` and ``hone export``: a run, experiment or study as an HTML page; a trained
model as a file; a run's curves in TensorBoard or MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hone.cli.common import StoreOpt, existing_store, out, safe
from hone.errors import ConfigError
from hone.progress import RunsBar
from hone.store import RunStore

__all__ = ["export_cmd", "report_cmd"]


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
    from hone.report.index import render_all  # matplotlib and jinja2: only when writing
    from hone.report.render import render_report

    if all_ == (ident is not None):
        raise ConfigError("give a run id, an experiment id or a study name, or --all (not both)")
    with RunStore(existing_store(store)) as rs:
        if all_:
            if out_path is not None:
                raise ConfigError("--out: not with --all (pages go to <store>/reports/)")
            with RunsBar("report --all", quiet=False, unit="pages") as bar:
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
        from hone.tracking import export_to

        with RunStore(existing_store(store)) as rs:
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
