"""What every command shares: consoles, option types and number formatting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["ConfigArg", "JsonOpt", "QuietOpt", "SetOpt", "StoreOpt", "err", "fmt", "out", "show"]

out = Console()
err = Console(stderr=True)


def show(renderable: Any) -> None:
    """Print to stdout; piped output is not squeezed to 80 columns (no terminal to fit)."""
    if not out.is_terminal:
        out.width = max(out.width, 160)  # print(width=) cannot exceed the console's width
    out.print(renderable)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


ConfigArg = Annotated[
    Path | None, typer.Argument(help="YAML config; omit for the built-in blobs baseline.")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override a config key: --set train.optimizer.lr=0.01 (repeatable)."
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Run store folder (default: $HONE_HOME or ./hone-runs)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or tables.")]
