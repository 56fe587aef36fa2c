"""The ``hone`` command line: the app, its commands and the entry point. Each command is a
thin shell over the Python API."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from hone.cli import (
    analysis,
    diagnose,
    experiments,
    report,
    runs,
    schema,
    search,
    store,
    studies,
    train,
)
from hone.cli.common import err, safe
from hone.errors import HoneError, Terminated
from hone.version import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    help="hone: diagnose what holds a neural network back, and prove what helps.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
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


app.add_typer(runs.runs_app, name="runs")
app.add_typer(store.store_app, name="store")
app.command("diagnose")(diagnose.diagnose_cmd)
app.command("datacurve")(analysis.datacurve_cmd)
app.command("eval")(analysis.eval_cmd)
app.command("predict")(analysis.predict_cmd)
app.command("compare")(experiments.compare_cmd)
app.command("tune")(search.tune_cmd)
app.command("lr-find")(search.lr_find_cmd)
app.command("improve")(experiments.improve_cmd)
app.add_typer(experiments.experiments_app, name="experiments")
app.add_typer(studies.studies_app, name="studies")
app.command("run")(train.run_cmd)
app.command("report")(report.report_cmd)
app.command("export")(report.export_cmd)
app.command("model")(train.model_cmd)
app.command("schema")(schema.schema_cmd)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one message and exit code 2, never a traceback.

    Typer's standalone mode handles usage errors, ``--help`` and exit codes; hone's own
    ``HoneError`` passes through it and is reported here.
    """
    import signal

    def terminate(signum: int, frame: object) -> None:
        raise Terminated  # SIGTERM stops hone as Ctrl-C does: recorded, not lost

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
    except KeyboardInterrupt as exc:  # outside training (loading data, writing a report)
        sigterm = isinstance(exc, Terminated)
        err.print("[bold red]interrupted[/]" + (" by SIGTERM" if sigterm else ""))
        sys.exit(143 if sigterm else 130)
