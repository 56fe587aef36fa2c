"""Tables that fit the terminal: numbers and intervals are never wrapped; what does not fit is
dropped, least useful column first, and the caller says so below the table."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from hone.experiments.stats import format_p
from hone.text import safe

__all__ = ["fits", "variants_table"]

# How a compare table gets narrower, in order: as it is; without the final test column (shown
# for the record, never used to choose); with n in the title when every variant has the same;
# without vertical rules. The verdict wraps between words only when nothing else is left.
_LAYOUTS = ((True, False, box.HEAVY_HEAD), (False, False, box.HEAVY_HEAD),
            (False, True, box.HEAVY_HEAD), (False, True, box.SIMPLE_HEAD))  # fmt: skip


def variants_table(summary: dict[str, Any], console: Console) -> tuple[Table, bool]:
    """The compare table (short labels v1, v2, ...; the key below says what each is) in the
    first layout that fits the console unwrapped; and whether the test column is in it. A
    pipe gets the whole table (nothing to fit)."""
    width, terminal = console.width, console.is_terminal
    d = 4 if width >= 110 or not terminal else 3
    table = _table(summary, d, *_LAYOUTS[0])
    for test, n_in_title, rules in _LAYOUTS:
        table = _table(summary, d, test, n_in_title, rules)
        if not terminal or fits(console, table):
            return table, test
    return table, False


def fits(console: Console, renderable: Any) -> bool:
    """Whether ``renderable`` fits the console's width with nothing wrapped."""
    wide = console.options.update_width(10_000)
    return Measurement.get(console, wide, renderable).maximum <= console.width


def _table(summary: dict[str, Any], d: int, test: bool, n_in_title: bool, rules: box.Box) -> Table:
    metric = safe(summary["metric"])
    rows = summary["variants"]
    labels = {row["name"]: f"v{i}" if i else "base" for i, row in enumerate(rows)}
    against = {row["vs"]["variant"] for row in rows if row.get("vs")}
    one_reference = len(against) <= 1
    ns = {row["summary"]["n"] for row in rows}
    n_in_title = n_in_title and len(ns) == 1
    seeds = f"n = {next(iter(ns))} seeds each" if n_in_title else "(n seeds)"
    table = Table(
        title=f"{metric}: mean [95 % CI] {seeds}; "
        f"{summary['runs_done']}/{summary['runs_planned']} runs",
        title_justify="left",
        box=rules,
        pad_edge=rules is not box.SIMPLE_HEAD,  # no rules: two spaces apart are enough
        collapse_padding=rules is box.SIMPLE_HEAD,
    )
    diff_head = "paired diff [95 % CI]"
    if one_reference and against:
        diff_head = f"diff vs {labels.get(next(iter(against)), '?')} [95 % CI]"
    head = metric if n_in_title else f"{metric} (n)"
    columns = ["", head, *([] if one_reference else ["vs"]), diff_head, "p", "verdict"]
    for col in (*columns, *(["test"] if test else [])):
        table.add_column(col, no_wrap=col != "verdict", justify="right" if col == "p" else "left")
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
        n = "" if n_in_title else f" ({s['n']})"
        final = row["final_test"]
        cells = [
            labels[row["name"]],
            f"{s['mean']:.{d}f}{ci}{n}" if s["n"] else f"-{n}",
            *([] if one_reference else [labels.get(vs["variant"], "") if vs else ""]),
            diff,
            format_p(vs["p_value"]) if vs else "",
            vs["verdict"] if vs else "",
            *([f"{final['mean']:.{d}f}" if final["n"] else "-"] if test else []),
        ]
        table.add_row(*cells)
    return table
