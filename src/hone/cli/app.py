"""The ``hone`` command line: the app, its commands and the entry point. Each command is a
thin shell over the Python API."""

from __future__ import annotations

import contextlib
import sys
import warnings
from typing import Annotated, NoReturn

import typer

from hone.cli import (
    analysis,
    diagnose,
    experiments,
    improve,
    report,
    runs,
    schema,
    search,
    store,
    studies,
    train,
)
from hone.cli.common import echo_json, err, safe
from hone.errors import HoneError, HoneNotice, HoneWarning, Terminated, error_json
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
app.command("improve")(improve.improve_cmd)
app.add_typer(experiments.experiments_app, name="experiments")
app.add_typer(studies.studies_app, name="studies")
app.command("run")(train.run_cmd)
app.command("report")(report.report_cmd)
app.command("export")(report.export_cmd)
app.command("model")(train.model_cmd)
app.command("schema")(schema.schema_cmd)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:  # fmt: skip
    """hone's own warnings as one ``warning:`` line on stderr (through a live display, if one
    is up); anything else as Python shows it."""
    if issubclass(category, HoneWarning):
        label = "[cyan]note:[/]" if issubclass(category, HoneNotice) else "[yellow]warning:[/]"
        err.print(f"{label} {safe(str(message))}", highlight=False)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)  # type: ignore[arg-type]


_python_showwarning = warnings.showwarning


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
    warnings.showwarning = _show_warning
    json_out = "--json" in (sys.argv[1:] if argv is None else argv)
    try:
        if not json_out:
            app(args=argv, prog_name="hone")
        # --json: usage errors come back as exceptions too, to be printed as JSON below
        code = app(args=argv, prog_name="hone", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except HoneError as exc:
        _fail(exc, exc.exit_code, json_out, str(exc))
    except typer.Abort as exc:  # --json only (standalone mode prints it itself)
        _fail(exc, 130, json_out, "interrupted")
    except Exception as exc:
        if not _usage_error(exc):
            raise
        _fail(exc, int(getattr(exc, "exit_code", 2)), json_out, exc.format_message())  # type: ignore[attr-defined]
    except BrokenPipeError:  # output piped into head: not an error
        sys.exit(0)
    except KeyboardInterrupt as exc:  # outside training (loading data, writing a report)
        sigterm = isinstance(exc, Terminated)
        _fail(
            exc,
            143 if sigterm else 130,
            json_out,
            "interrupted" + (" by SIGTERM" if sigterm else ""),
        )


def _usage_error(exc: Exception) -> bool:
    """Click's usage errors (a mistyped option, a bad value), which reach here only with
    ``--json`` (Typer bundles its own Click, so they are known by their class's name)."""
    return any(c.__name__ == "ClickException" for c in type(exc).__mro__)


def _fail(exc: BaseException, code: int, json_out: bool, message: str) -> NoReturn:
    """One message on stderr; with ``--json`` also the error as one JSON object on stdout, so a
    script reading stdout learns why (code, message, field) as well as the exit code."""
    if code in (130, 143) and not isinstance(exc, HoneError):
        err.print(f"[bold red]{safe(message)}[/]", highlight=False)
    else:
        label = "[bold yellow]interrupted:[/]" if code in (130, 143) else "[bold red]error:[/]"
        err.print(f"{label} {safe(message)}", highlight=False)
    if json_out:
        echo_json(error_json(exc, code))
    sys.exit(code)
