"""``hone diagnose``: what holds a run back — findings with their evidence, the settings that
caused them and ranked prescriptions, against what is achievable on the run's data; with
``--probe``, each top prescription measured."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from hone.cli.common import (
    JsonOpt,
    QuietOpt,
    StoreOpt,
    echo_json,
    existing_store,
    fmt,
    out,
    parse_duration,
    plain,
    safe,
    set_args,
    show,
)
from hone.config import load_config
from hone.diagnose import Diagnosis, diagnose_run
from hone.errors import ConfigError
from hone.progress import RunsBar
from hone.store import RunStore
from hone.store.files import atomic_write_text

__all__ = ["diagnose_cmd"]

SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def diagnose_cmd(
    run_id: str,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
    patch_out: Annotated[
        Path | None,
        typer.Option("--patch", help="Write the config with the top prescription applied."),
    ] = None,
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Measure the top prescriptions by short runs on fresh "
            "seeds, and rank the findings by their effect.",
        ),
    ] = False,
    budget: Annotated[
        str | None,
        typer.Option(
            "--budget",
            help="What --probe may spend: 90s, 5m, 1h (default: what the run itself took).",
        ),
    ] = None,
    seeds: Annotated[
        int, typer.Option("--seeds", help="Fresh seeds per probe arm (3+ for a verdict).", min=1)
    ] = 3,
    quiet: QuietOpt = False,
) -> None:
    """What holds this run back: findings with evidence, causes and ranked prescriptions;
    with --probe, each top prescription measured."""
    from hone.runs import evidence_of  # rebuilds a deferred evaluation: PyTorch

    seconds = parse_duration(budget, "--budget") if budget is not None else None
    if budget is not None and not probe:
        raise ConfigError("--budget: only with --probe (it is what the probe may spend)")
    with RunStore(existing_store(store)) as rs:
        evidence = evidence_of(rs, rs.resolve_id(run_id))
        result = _ranked(rs, evidence, probe, seconds, seeds, quiet or json_out)
    if patch_out is not None:
        _write_patch(evidence.config, result, patch_out)
    if json_out:
        echo_json(result.to_json())
        return
    out.print(f"[bold]diagnosis of run {evidence.run_id}[/] ({safe(evidence.status)})")
    _print_reference(result.reference)
    for f in result.findings:
        _print_finding(f, evidence.config)
    reasons: dict[str, list[str]] = {}
    for code, why in result.unjudged.items():  # one line per reason: a damaged file, a bug
        reasons.setdefault(why, []).append(code)
    for why, codes in reasons.items():
        out.print(f"\n[dim]could not judge {', '.join(codes)}: {safe(why)}[/]")
    if result.timeline:
        out.print("\n[bold]while training[/] (live diagnosis, first seen):")
        for t in result.timeline:
            out.print(
                f"  epoch {t.get('epoch')}, step {t.get('step')}: {safe(str(t['code']))} "
                f"({safe(str(t.get('severity')))})",
                highlight=False,
            )
    if not result.probed and any(p.patch for f in result.findings for p in f.prescriptions):
        out.print(
            f"\n[dim]prescriptions are unverified: hone diagnose {evidence.run_id} --probe "
            "measures each top one on a few seeds[/]",
            soft_wrap=True,
        )
    if patch_out is not None:
        out.print(
            f"\nwrote {safe(patch_out)} (the config with the top prescription applied)",
            soft_wrap=True,
        )


def _ranked(
    rs: RunStore, evidence: Any, probe: bool, seconds: float | None, seeds: int, hide: bool
) -> Any:
    """The run's diagnosis; with ``probe``, its top prescriptions measured (the probe runs,
    or is read where it ran before); without, ranked by a probe already run, if any."""
    result = diagnose_run(evidence)
    if probe:
        from hone.experiments.probe import probe_diagnosis

        with RunsBar("probe", hide) as bar:
            return probe_diagnosis(rs, evidence.run_id, result, budget=seconds, seeds=seeds,
                                   progress=bar)  # fmt: skip
    from hone.experiments.probe_verdicts import probed_before

    return probed_before(rs, evidence.run_id, result) or result


def _print_reference(reference: dict[str, Any]) -> None:
    """What is achievable on the run's data, the reference models and where the run stands."""
    target = reference.get("achievable")
    if not target:
        return
    run = reference.get("run") or {}
    metric = target["metric"]
    source = "the target error" if target["source"] == "target_error" else target["source"]
    val = f", val {fmt(run.get('val'))}"
    if run.get("val") is None and reference.get("split") == "cv":
        val = " (no validation split)"
    line = (
        f"achievable: {metric} {fmt(target['score'])} ({source}); this run: train "
        f"{fmt(run.get('train'))}{val}"
    )
    models = reference.get("models") or {}
    split = reference.get("split") or "val"
    key = f"{split}_{metric}"
    scores = [f"{k} {fmt(v[key])}" for k, v in models.items() if isinstance(v, dict) and key in v]
    if scores:
        seconds = f"{float(reference.get('seconds') or 0):.1f}"
        where = reference.get("scored_on") or split
        line += f" [dim](reference models on {where}: {', '.join(scores)}; {seconds} s)[/]"
    out.print(line, highlight=False)


def _print_finding(f: Any, config: dict[str, Any]) -> None:
    style = SEVERITY_STYLE[f.severity]
    follows = f" [dim](follows from {f.explained_by})[/]" if f.explained_by else ""
    out.print(f"\n[{style}]{f.severity.upper()}[/] [bold]{f.code}[/]: {safe(f.title)}{follows}")
    out.print(safe(f.explanation))
    if f.causes:
        shown = ", ".join(_setting(key, config) for key in f.causes)
        _indented(f"[bold]caused by[/]: {safe(shown)}")
    ev = Table(show_header=False, box=None, padding=(0, 2))
    for key, value in f.evidence.items():
        if key != "suspects":
            ev.add_row(f"  {key}", plain(_short(value)))
    show(ev)
    if f.probe:
        _indented(f"[bold]probe[/]: {safe(str(f.probe.get('summary', '')))}")
    for i, p in enumerate(f.prescriptions, start=1):
        patch = set_args(p.patch)
        out.print(f"  {i}. {safe(p.why)}")
        if patch:  # a line to paste: never wrapped
            out.print(f"     [dim]{safe(patch)}[/]", soft_wrap=True)


def _indented(markup: str) -> None:
    """A line under a finding: wrapped lines stay indented under it (piped: one line, whole;
    a padded renderable would be cropped at the console's width)."""
    if not out.is_terminal:
        out.print(f"  {markup}")
        return
    out.print(Padding(Text.from_markup(markup), (0, 0, 0, 2), expand=False))


def _setting(key: str, config: dict[str, Any]) -> str:
    """``model.dropout (0.9)``: a cause with its value in the run's config."""
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return key
        node = node[part]
    if isinstance(node, dict):
        node = ", ".join(f"{k}: {_short(v)}" for k, v in node.items() if v not in (None, {}, []))
    return f"{key} ({_short(node)})" if node not in (None, "") else key


def _write_patch(config: dict[str, Any], diagnosis: Diagnosis, path: Path) -> None:
    top = diagnosis.top_prescription()  # a prescription a probe refuted is not written
    if top is None:
        raise ConfigError(
            "--patch: no finding prescribes a config change for this run"
            + (" that a probe did not refute" if diagnosis.probed else "")
        )
    patched = load_config(config, top.patch)
    if path.is_dir():
        raise ConfigError(f"--patch: {path} is a folder; give a file name such as patched.yaml")
    atomic_write_text(path, f"# {top.why}\n" + patched.to_yaml())


def _short(value: Any) -> str:
    if isinstance(value, float):
        return fmt(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_short(v)}" for k, v in list(value.items())[:8])
    return str(value)
