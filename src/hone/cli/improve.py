"""``hone improve``: the loop on the terminal, and what it ends with: the ladder of adopted
changes, what was rejected or not tried and why, and the winning changes as ``--set`` lines
to paste and as a diff of the config."""

from __future__ import annotations

import re
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
    SeedsOpt,
    SetOpt,
    StackOpt,
    StoreOpt,
    base_config,
    echo_json,
    notes_to,
    out,
    runs_bar,
    safe,
    say_held_back,
    set_args,
)
from hone.cluster import parse_backend
from hone.config import load_config
from hone.errors import ConfigError
from hone.experiments.stats import format_p
from hone.store import RunStore
from hone.text import num, yaml_diff

__all__ = ["improve_cmd", "print_improve"]


def _parse_budget(budget: str | None) -> tuple[int | None, float | None]:
    if budget is None:
        return None, None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)", budget.strip())
    if m:
        return None, float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
    if budget.strip().isdigit():
        return int(budget), None
    raise ConfigError(
        f"--budget: expected a duration like 20m / 90s / 1h or a number of runs, got {budget!r}"
    )


def _budget_ok(budget: str | None) -> None:
    runs, seconds = _parse_budget(budget)
    if (runs is not None and runs < 1) or (seconds is not None and seconds <= 0):
        raise ConfigError(f"--budget: {budget!r} leaves nothing to run; give e.g. 30 or 20m")


def improve_cmd(
    config: ConfigArg = None,
    set_: SetOpt = None,
    budget: Annotated[str | None, typer.Option(help="20m, 1h, or a number of runs.")] = None,
    seeds: SeedsOpt = 3,
    metric: MetricOpt = None,
    jobs: JobsOpt = None,
    stack: StackOpt = "auto",
    backend: BackendOpt = "local",
    address: AddressOpt = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted improve.")
    ] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Diagnose, prescribe, verify each remedy over seeds, adopt what helps, repeat."""
    from hone.experiments.compare import check_metric, resolve_resumable, validated
    from hone.experiments.improve import improve
    from hone.runs.stacking import check_stack

    check_stack(stack)
    where = parse_backend(backend, address)
    with RunStore(store) as rs, runs_bar("improve", quiet or json_out) as bar:
        bar.phase("loading the data")
        if resume:
            exp_id = resolve_resumable(rs, resume, "improve")
            spec = rs.get_experiment(exp_id).spec
            base = load_config(spec["config"])
            runs, seconds = spec.get("budget_runs"), spec.get("budget_seconds")
            chosen, n_seeds, held = spec["metric"], len(spec["seeds"]), None
        else:
            exp_id = None
            base = base_config(config, set_)
            _budget_ok(budget)
            runs, seconds = _parse_budget(budget)
            # No validation split (the Keras-style blobs baseline): compare on training rows
            # held back from every run; the final config keeps its own split.
            compared, held = validated(base, metric)
            chosen, n_seeds = check_metric(compared, metric), seeds
            say_held_back(bar, held)
        result = improve(
            rs,
            base,
            seeds=n_seeds,
            metric=chosen,
            budget_runs=runs,
            budget_seconds=seconds,
            exp_id=exp_id,
            jobs=jobs,
            stack=stack,
            backend=where,
            say=notes_to(bar),
            progress=bar,
            held_back=held,
            announce=lambda e: bar.say(  # the command on a line of its own: never cut
                f"experiment {e}\n  resume with: hone improve --resume {e}", wrap=False
            ),
        )
    if json_out:
        echo_json(result)
    elif not quiet:
        print_improve(result, chosen, base.to_dict())


def print_improve(result: dict[str, Any], chosen: str, base: dict[str, Any]) -> None:
    """The ladder, the rejected and untried candidates with why, and the changes to paste."""
    b = result["baseline"]
    out.print(
        f"[bold]baseline[/]: {chosen} {num(b['mean'])} "
        f"[{num(b['ci_low'])}, {num(b['ci_high'])}] (n={b['n']})"
    )
    for step in result["adopted"]:
        s = step["summary"]
        gain = (f"gain {num(step['mean_diff'], '+.4f')}, 95 % CI [{num(step['t_ci_low'], '+.4f')}, "
                f"{num(step['t_ci_high'], '+.4f')}], p {format_p(step['p_value'])}")  # fmt: skip
        if num(step["mean_diff"]) == "-" and step.get("note"):  # a rescue: no gain to pair
            gain = step["note"]
        out.print(f"[green]adopted[/] {safe(step['name'])}: {num(s['mean'])} ({safe(gain)})")
    for r in result["rejected"]:
        diff = (f" ({num(r['mean_diff'], '+.4f')}, p {format_p(r['p_value'])})"
                if num(r.get("mean_diff")) != "-" else "")  # fmt: skip
        out.print(f"[dim]rejected[/] {safe(r['name'])}: {safe(r['reason'])}{diff}")
    for c in result.get("considered", []):
        why = str(c["fate"]).removeprefix(
            "not tried: "
        )  # "not tried X: not tried: ..." read as a bug
        when = f" (round {c['round']})" if c.get("round") else ""
        out.print(f"[dim]not tried{when}[/] {safe(c['name'])}: {safe(why)}", highlight=False)
    t = result["final_test"]
    out.print(
        f"stopped: {result['stop_reason']}; {result['runs_used']} runs. Final "
        f"{t['metric']} (evaluated once, at the end): {num(t['mean'])}"
    )
    patch = result["adopted"][-1]["patch"] if result["adopted"] else {}
    if not patch:
        out.print("nothing adopted: the config stays as it is")
        return
    out.print("the adopted changes, to paste after your command:")
    out.print(f"  {safe(set_args(patch))}", highlight=False, soft_wrap=True)
    out.print("the config they change:")
    before = load_config(base).to_yaml()
    for line in yaml_diff(before, result["final_config"], "baseline", "improved"):
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        out.print(f"  {line}", style=style or None, markup=False, highlight=False, soft_wrap=True)
