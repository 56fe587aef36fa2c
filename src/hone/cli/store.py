"""``hone store check | repair``: is the run store's index (``runs.db``) sound, does it agree
with the run folders, and rebuilding it when it is not. ``hone runs check | repair`` are the
same commands under their older names."""

from __future__ import annotations

import typer

from hone.cli.common import JsonOpt, StoreOpt, echo_json, out, safe
from hone.store.repair import check_store, repair_store

__all__ = ["store_app", "store_check", "store_repair"]

store_app = typer.Typer(
    help="Check the run store's index and repair it (a damaged runs.db, lost rows).",
    no_args_is_help=True,
)


@store_app.command("check")
def store_check(store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """SQLite's integrity check of runs.db, and the index against the run folders (exit 1 when
    something is wrong)."""
    result = check_store(store)
    if json_out:
        echo_json(result.to_json())
        raise typer.Exit(0 if result.ok else 1)
    indexed = f"{result.indexed} runs in the index" if result.readable else "no readable index"
    out.print(f"{safe(result.root)}: {indexed}, {result.folders} run folders", highlight=False)
    if result.problem:
        out.print(f"[red]index[/]: {safe(result.problem)}", highlight=False)
    for label, ids in (
        ("folders not in the index", result.not_indexed if result.readable else []),
        ("index rows without a folder", result.no_folder),
        ("damaged index rows", result.damaged),
        ("runs whose process died (shown as killed)", result.killed),
    ):
        if ids:
            more = f", ... ({len(ids) - 10} more)" if len(ids) > 10 else ""
            out.print(f"{label} ({len(ids)}): {', '.join(ids[:10])}{more}", highlight=False)
    if result.ok:
        out.print("ok")
    elif "hone store repair" not in result.problem:  # the problem may say it already
        out.print(
            "repair it (the index is rebuilt from what it still holds and from the run "
            "folders; a damaged runs.db is kept beside it):"
        )
        out.print(f"  hone store repair --store {safe(result.root)}", highlight=False,
                  soft_wrap=True)  # fmt: skip
    raise typer.Exit(0 if result.ok else 1)


@store_app.command("repair")
def store_repair(store: StoreOpt = None, json_out: JsonOpt = False) -> None:
    """Rebuild the index from what survives in it and from the run folders (a damaged
    runs.db is kept beside it as runs.db.damaged-<time>)."""
    result = repair_store(store)
    if json_out:
        echo_json(result)
        return
    if result["problem"]:
        out.print(f"the index was damaged: {safe(result['problem'])}", highlight=False)
    if result["moved_index"]:
        out.print(f"kept the damaged index as {safe(result['moved_index'])}", highlight=False)
    if result["carried_over"]:
        out.print(f"carried over {len(result['carried_over'])} run(s) from the damaged index")
    out.print(
        f"restored {len(result['restored'])} run(s) from their folders and "
        f"{result['experiments']} experiment(s)"
    )
    if result["rebuilt"]:
        out.print(
            f"wrote {len(result['rebuilt'])} run folder(s) again from the index (their config "
            "and history; the weights and telemetry that were in them are gone): "
            + ", ".join(result["rebuilt"][:10])
            + (" ..." if len(result["rebuilt"]) > 10 else ""),
            highlight=False,
        )
