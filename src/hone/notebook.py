"""How hone's results look in Jupyter: small HTML tables for ``_repr_html_``.

Every value is escaped (run names and messages are user text); numbers are rounded as on the
terminal. No styles beyond the notebook's own table styling, so dark themes stay readable.
It sits at the bottom of the package (each result type, in whatever layer it lives, renders
itself through it), so it reads its arguments by attribute: a ``RunResult``, a ``Finding``,
a ``Diagnosis``, a compare summary, a ``TuneResult``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from hone.text import fmt, set_args

__all__ = [
    "comparison_html",
    "curve_html",
    "diagnosis_html",
    "finding_html",
    "run_html",
    "tune_html",
]


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def run_html(result: Any) -> str:
    title = (
        f"<b>{escape(result.config.name)}</b> · run <code>{escape(result.run_id)}</code> · "
        f"{escape(result.status)} · {result.epochs_run} epochs in {result.wall_seconds:.1f} s"
    )
    metrics = _table(("metric", "value"), ((k, fmt(v)) for k, v in sorted(result.metrics.items())))
    note = f"<p>{escape(result.message)}</p>" if result.message else ""
    hint = f"<p>diagnose: <code>hone.diagnose({escape(repr(result.run_id))})</code></p>"
    return f"<div><p>{title}</p>{metrics}{note}{hint}</div>"


def curve_html(curve: Any) -> str:
    """A ``DataCurve``: its points (mean over seeds), then the answer."""
    rows = ((f"{p.fraction:g}", f"{p.n_train:,}", fmt(p.mean_train), fmt(p.mean_val))
            for p in curve.points)  # fmt: skip
    table = _table(("fraction", "n train", "train error", "val error"), rows)
    return (
        f"<div><p>data curve (mean over seeds)</p>{table}"
        f"<p><b>{escape(curve.verdict)}</b>: {escape(curve.answer)}</p></div>"
    )


def finding_html(finding: Any) -> str:
    fixes = "".join(
        f"<li>{escape(p.why)}"
        + (f" <code>{escape(set_args(p.patch))}</code>" if p.patch else "")
        + "</li>"
        for p in finding.prescriptions
    )
    cause = f" (explained by {escape(finding.explained_by)})" if finding.explained_by else ""
    return (
        f"<div><p><b>{escape(finding.code)}</b> [{escape(finding.severity)}]{cause}: "
        f"{escape(finding.title)}</p><p>{escape(finding.explanation)}</p>"
        + (f"<ol>{fixes}</ol>" if fixes else "")
        + "</div>"
    )


def diagnosis_html(diagnosis: Any) -> str:
    head = f"<p>diagnosis of run <code>{escape(diagnosis.run_id)}</code></p>"
    if not diagnosis.findings:
        body = "<p>no findings: nothing holds this run back that hone can see</p>"
    else:
        body = "".join(finding_html(f) for f in diagnosis.findings)
    skipped = ""
    if diagnosis.unjudged:
        skipped = "<p>could not judge: " + escape(
            "; ".join(f"{k} ({v})" for k, v in diagnosis.unjudged.items())
        ) + "</p>"  # fmt: skip
    return f"<div>{head}{body}{skipped}</div>"


def comparison_html(summary: dict[str, Any]) -> str:
    rows = []
    for v in summary["variants"]:
        s, vs = v["summary"], v.get("vs") or {}
        rows.append(
            (
                v["name"],
                v["n"],
                fmt(s["mean"]),
                f"[{fmt(s['ci_low'])}, {fmt(s['ci_high'])}]",
                fmt(vs["mean_diff"]) if vs else "",
                fmt(vs["p_value"]) if vs else "",
                vs.get("verdict", ""),
            )
        )
    header = ("variant", "seeds", summary["metric"], "95% CI", "Δ vs ref", "p", "verdict")
    title = f"<p>{escape(summary['kind'])} <code>{escape(summary['experiment'])}</code></p>"
    notes = "".join(
        f"<p>{escape(v['name'])}: {escape(v['missing'])}</p>"
        for v in summary["variants"]
        if v.get("missing")
    )
    return f"<div>{title}{_table(header, rows)}{notes}</div>"


def tune_html(result: Any) -> str:
    c = result.counts
    head = (
        f"<p>study <b>{escape(result.study_name)}</b>: {c.get('complete', 0)} complete, "
        f"{c.get('pruned', 0)} pruned, {c.get('fail', 0)} failed; best = "
        f"{escape(fmt(result.best_value))}</p>"
    )
    best = (
        f"<p><code>{escape(set_args(result.best_params))}</code></p>" if result.best_params else ""
    )
    imp = _table(("parameter", "importance"),
                 ((k, fmt(v)) for k, v in result.importances.items()))  # fmt: skip
    return f"<div>{head}{best}{imp if result.importances else ''}</div>"
