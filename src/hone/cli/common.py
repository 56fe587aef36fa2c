"""What every command shares: consoles, option types, number formatting and plain text.

Every user-supplied string (run names, variant labels, class names, messages that quote a
file) reaches the terminal through ``safe`` or ``plain``: Rich markup is escaped, so ``a[/]b``
prints as itself, and control characters (ANSI escapes, NUL) are removed, so a name cannot
recolour or clear the terminal. Emoji codes such as ``:x:`` are not substituted anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hone.config import load_config, parse_set
from hone.errors import ConfigError, StoreError
from hone.progress import RunsBar
from hone.store.records import clean_json
from hone.store.runstore import resolve_store_root
from hone.text import fmt, plain, safe, set_args, strip_control

__all__ = [
    "AddressOpt",
    "BackendOpt",
    "ConfigArg",
    "JobsOpt",
    "JsonOpt",
    "MetricOpt",
    "QuietOpt",
    "SeedsOpt",
    "SetOpt",
    "StoreOpt",
    "base_config",
    "echo_json",
    "err",
    "existing_store",
    "fmt",
    "metrics_table",
    "notes_to",
    "out",
    "parse_duration",
    "plain",
    "runs_bar",
    "safe",
    "set_args",
    "show",
    "strip_control",
]

# On a terminal prose is word-wrapped at its width; lines a user copies (commands, --set,
# paths) are printed with soft_wrap=True so they are never broken. In a pipe or log nothing
# is wrapped: each line stays whole for grep and for the reader's own wrapping.
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)
out.soft_wrap = not out.is_terminal
err.soft_wrap = not err.is_terminal


def show(renderable: Any) -> None:
    """Print to stdout; piped output is not squeezed to 80 columns (no terminal to fit), nor
    padded with the spaces that align a table's cells on a screen."""
    if out.is_terminal:
        out.print(renderable)
        return
    out.width = max(out.width, 160)  # print(width=) cannot exceed the console's width
    with out.capture() as captured:
        out.print(renderable)
    out.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    out.file.flush()


def echo_json(value: Any) -> None:
    """One strict JSON object on stdout: NaN and inf become null, never the invalid NaN."""
    typer.echo(json.dumps(clean_json(value), allow_nan=False, default=str))


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
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout.", metavar="")
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar or tables.", metavar="")
]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        help="At most N runs at once (local: N processes, default 1; ray: default as many "
        "as the cluster places).",
        min=1,
    ),
]
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend", help="local | ray. ray: each run is a Ray task (pip install 'hone\\[ray]')."
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="Ray cluster HOST:PORT (default: $HONE_RAY_ADDRESS, else auto: a cluster "
        "running here, or a new local one).",
    ),
]

SeedsOpt = Annotated[
    int, typer.Option("--seeds", help="Seeds per variant (paired; 3+ for a verdict).", min=1)
]
MetricOpt = Annotated[
    str | None,
    typer.Option(
        "--metric",
        help=(
            "Default: val_accuracy (val_loss for regression); also val_balanced_accuracy, or "
            "val_r2, val_mae, val_rmse for regression."
        ),
    ),
]
StackOpt = Annotated[
    str,
    typer.Option(
        "--stack",
        help="auto | off. auto: runs that differ in the seed alone (a variant's seeds, an "
        "ensemble's members), or tune's trials of one shape, train as one stacked model, "
        "each still its own run; off: one run at a time.",
    ),
]


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


def base_config(config: Path | None, set_: list[str] | None) -> Any:
    """The command's config with its ``--set`` overrides."""
    return load_config(config, parse_set(set_ or []))


def runs_bar(title: str, silent: bool, unit: str = "runs") -> RunsBar:
    """A command's live progress on stderr (``err``: what else the command prints there
    lands above the display, never inside it)."""
    return RunsBar(title, silent, unit, console=err)


def notes_to(bar: RunsBar) -> Callable[[str], None] | None:
    """Where an experiment's one-line notes go (why seeds run one by one): above its
    progress display, on stderr."""
    return None if bar.quiet else bar.say


def say_held_back(bar: RunsBar, held: float | None) -> None:
    """Once, above the progress display: the config has no validation split, so its runs
    are compared on training rows held back (``compare.validated``)."""
    if held:
        bar.say(f"no validation split: every run holds back {held * 100:.0f} % of its training "
                "rows and is compared on them (or name a --metric)")  # fmt: skip


def parse_duration(text: str, flag: str) -> float:
    """``90s``, ``5m``, ``1h`` or plain seconds, as seconds (more than zero)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)?", text.strip())
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"{flag}: expected a duration like 90s, 5m or 1h, got {text!r}")
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def existing_store(store: Path | None) -> Path | None:
    """``store`` for a command that only reads one: a mistyped ``--store`` made an empty
    store there and listed nothing, as if every run were gone."""
    root = resolve_store_root(store)
    if not root.exists():
        raise StoreError(f"no run store at {root}: the folder does not exist, so nothing has "
                         "been recorded there (check --store or $HONE_HOME; hone run makes "
                         "one)")  # fmt: skip
    return store
