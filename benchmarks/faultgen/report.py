"""The generated suite's tables, for a terminal or a log (Rich; columns never squeezed)."""

from __future__ import annotations

from typing import Any

from benchmarks.common import print_table

__all__ = ["pct", "print_report"]


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _halves(summary: dict[str, Any]) -> None:
    rows = []
    for half, b in summary["halves"].items():
        rows.append(
            [
                half,
                b["faulty"],
                pct(b["correct"]),
                pct(b["code_only"]),
                pct(b["top_code_ok"]),
                pct(b["top_correct"]),
                f"{b['weak']} ({pct(b['weak_code_only'])})",
                f"{b['false_alarms']}/{b['controls']}",
                f"{b['weak_control_alarms']}/{b['weak_controls']}",
                b["healthy_below_reference"],
                b["errors"],
            ]
        )
    header = [
        "half",
        "faulty",
        "code+cause",
        "code only",
        "top code",
        "top right",
        "weak (code)",
        "false alarms",
        "weak ctl alarms",
        "healthy<ref",
        "errors",
    ]
    print_table("generated suite: by half (faulty = fault materialised)", header, rows)


def _split(block: dict[str, Any]) -> str:
    """``code/cause (n)`` for one half of one fault."""
    return f"{pct(block['code_only'])}/{pct(block['correct'])} ({block['n']})"


def _faults(summary: dict[str, Any]) -> None:
    rows = []
    for fault, b in summary["faults"].items():
        dev, held = b["dev"], b["heldout"]
        if b["controls"] or b["weak_controls"]:  # a control: false alarms, not accuracy
            n, weak, code, cause = (
                b["controls"],
                b["weak_controls"],
                "-",
                f"{b['false_alarms']} alarms",
            )
            rows.append([fault, n, weak, code, cause, _split(dev), _split(held), "-"])
            continue
        rows.append(
            [
                fault,
                b["faulty"],
                b["weak"],
                pct(b["code_only"]),
                pct(b["correct"]),
                _split(dev),
                _split(held),
                b["healthy_below_reference"],
            ]
        )
    header = [
        "fault",
        "n",
        "weak",
        "code only",
        "code+cause",
        "dev code/cause",
        "held-out code/cause",
        "healthy<ref",
    ]
    print_table("generated suite: by fault (controls: share without a false alarm)", header, rows)


def _weak(records: list[dict[str, Any]]) -> None:
    weak = [r["id"] for r in records if r.get("materialised") is False]
    errors = [f"{r['id']}: {r['error']}" for r in records if "error" in r]
    if weak:
        print(
            f"weak ({len(weak)}: the fault did not materialise, or a noise control is not at "
            f"its floor): {', '.join(weak)}"
        )
    for line in errors:
        print("error", line)


def _codes(summary: dict[str, Any]) -> None:
    rows = [
        [code, v["expected"], pct(v["recall"]), v["fired"], pct(v["precision"])]
        for code, v in summary["codes"].items()
    ]
    print_table(
        "generated suite: by code", ["code", "expected", "recall", "fired", "precision"], rows
    )


def print_report(
    summary: dict[str, Any],
    layout: dict[str, list[str]],
    probe: dict[str, Any],
    records: list[dict[str, Any]],
) -> None:
    for half, fams in layout.items():
        print(f"{half} families ({len(fams)}): {', '.join(fams)}")
    _halves(summary)
    _faults(summary)
    _codes(summary)
    _weak(records)
    verify = summary.get("verify")
    if verify and verify.get("probed"):
        for h, v in verify["by_half"].items():
            if not v["n"]:
                continue
            cost = v["probe_cost_over_run"] or {}
            print(
                f"{h}: the probed top prescription improved the val metric (paired, its own "
                f"seeds) in {pct(v['improved'])} of {v['n']} faulty runs; significantly worse "
                f"in {v['significantly_worse']}; no patch in {v['no_patch']}; probe cost / run "
                f"cost median {cost.get('median', float('nan')):.2f}, max "
                f"{cost.get('max', float('nan')):.2f}"
            )
    elif verify:
        halves = ", ".join(
            f"{h} {pct(v['improved'])} of {v['n']}" for h, v in verify["by_half"].items()
        )
        print(
            f"top prescription improved the val metric in {pct(verify['improved'])} of "
            f"{verify['checked']} faulty runs ({halves}); outcomes {verify['outcomes']}"
        )
    state = (
        "used"
        if probe["asked"] and probe["available"]
        else ("not available in this hone" if probe["asked"] else "not asked")
    )
    print(f"probe: {state}")
    print(f"wall time: {summary['seconds']:.0f} s ({summary['twins_trained']} healthy twins)")
