"""Summaries of judged cases: per half, per fault, per code, and the prescription check.

Accuracy is reported over the cases whose fault materialised; ``weak`` cases (the fault did
not measurably hurt) are counted and judged separately, never dropped. Failed runs are
``errors``. Controls count as false alarms when a warning fires (see ``judge``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from benchmarks.faultgen.families import HALVES

__all__ = ["per_code", "per_fault", "per_half", "summarize", "verify_summary"]

Record = dict[str, Any]


def _ok(records: list[Record]) -> list[Record]:
    return [r for r in records if "error" not in r]


def _share(records: list[Record], key: str) -> float | None:
    return sum(bool(r["verdict"][key]) for r in records) / len(records) if records else None


def _block(records: list[Record]) -> dict[str, Any]:
    """The headline numbers of one group of cases."""
    done = _ok(records)
    faulty = [r for r in done if r["kind"] == "fault"]
    real = [r for r in faulty if r["materialised"]]
    weak = [r for r in faulty if not r["materialised"]]
    controls = [r for r in done if r["kind"] != "fault"]
    valid = [r for r in controls if r["materialised"]]
    return {
        "cases": len(records),
        "errors": len(records) - len(done),
        "faulty": len(real),
        "correct": _share(real, "correct"),
        "code_only": _share(real, "code_ok"),
        "top_code_ok": _share(real, "top_code_ok"),
        "top_correct": _share(real, "top_correct"),
        "weak": len(weak),
        "weak_correct": _share(weak, "correct"),
        "weak_code_only": _share(weak, "code_ok"),
        "controls": len(valid),
        "false_alarms": sum(r["verdict"]["false_alarm"] for r in valid),
        "weak_controls": len(controls) - len(valid),
        "weak_control_alarms": sum(
            r["verdict"]["false_alarm"] for r in controls if not r["materialised"]
        ),
        "healthy_below_reference": sum(bool(r["healthy_below_reference"]) for r in done),
    }


def per_half(records: list[Record]) -> dict[str, Any]:
    out = {h: _block([r for r in records if r["half"] == h]) for h in HALVES}
    out["all"] = _block(records)
    return out


def per_fault(records: list[Record]) -> dict[str, Any]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        groups[r["fault"]].append(r)
    out = {}
    for fault, rs in groups.items():
        block = _block(rs)
        for h in HALVES:
            real = [r for r in _ok(rs) if r["half"] == h and r["materialised"]]
            block[h] = {
                "n": len(real),
                "correct": _share(real, "correct"),
                "code_only": _share(real, "code_ok"),
            }
        out[fault] = block
    return out


def per_code(records: list[Record]) -> dict[str, Any]:
    """Recall of each expected code (its first acceptable code: was an acceptable code
    found?), and precision of each code at warning or above (did it fire where it was
    acceptable?), over materialised faulty cases and valid controls."""
    hit: Counter[str] = Counter()
    miss: Counter[str] = Counter()
    right: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for r in _ok(records):
        if not r["materialised"]:
            continue
        acceptable = set(r["codes"])
        fired = set(r["verdict"]["codes"])
        if acceptable:
            (hit if fired & acceptable else miss)[r["codes"][0]] += 1
        for code in set(r["verdict"]["alarms"]):
            (right if code in acceptable else wrong)[code] += 1
        for code in (fired & acceptable) - set(r["verdict"]["alarms"]):
            right[code] += 1  # an acceptable code at info level is still a true positive
    codes = sorted(set(hit) | set(miss) | set(right) | set(wrong))
    return {
        c: {
            "expected": hit[c] + miss[c],
            "recall": hit[c] / (hit[c] + miss[c]) if hit[c] + miss[c] else None,
            "fired": right[c] + wrong[c],
            "precision": right[c] / (right[c] + wrong[c]) if right[c] + wrong[c] else None,
        }
        for c in codes
    }


def verify_summary(records: list[Record]) -> dict[str, Any] | None:
    """Does the top prescription help? Same-seed outcomes (``--verify``), or with ``--probe``
    the probed top prescription on its own paired seeds: the share that improves, the share
    significantly worse, and the probe's cost against the run's."""
    checked = [r for r in _ok(records) if "verify" in r]
    if not checked:
        return None
    if any("improves" in r["verify"] or "probe_seconds" in r["verify"] for r in checked):
        return _probed_summary(checked)
    outcomes = Counter(r["verify"].get("outcome", "no patch") for r in checked)
    by_half = {}
    for h in HALVES:
        rs = [r for r in checked if r["half"] == h]
        better = sum(r["verify"].get("outcome") == "better" for r in rs)
        by_half[h] = {"n": len(rs), "improved": better / len(rs) if rs else None}
    return {
        "checked": len(checked),
        "outcomes": dict(outcomes),
        "improved": outcomes["better"] / len(checked),
        "by_half": by_half,
    }


def _probed_summary(checked: list[Record]) -> dict[str, Any]:
    by_half = {}
    for h in HALVES:
        rs = [r["verify"] for r in checked if r["half"] == h]
        costs = [v["probe_seconds"] / v["run_seconds"] for v in rs
                 if v.get("probe_seconds") is not None and v.get("run_seconds")]  # fmt: skip
        by_half[h] = {
            "n": len(rs),
            "improved": sum(bool(v.get("improves")) for v in rs) / len(rs) if rs else None,
            "significantly_worse": sum(bool(v.get("significantly_worse")) for v in rs),
            "no_patch": sum(not v.get("applied") for v in rs),
            "probe_cost_over_run": {"median": sorted(costs)[len(costs) // 2],
                                    "max": max(costs)} if costs else None,
        }  # fmt: skip
    improved = sum(bool(r["verify"].get("improves")) for r in checked)
    return {"checked": len(checked), "probed": True, "improved": improved / len(checked),
            "by_half": by_half}  # fmt: skip


def summarize(records: list[Record]) -> dict[str, Any]:
    return {
        "halves": per_half(records),
        "faults": per_fault(records),
        "codes": per_code(records),
        "verify": verify_summary(records),
    }
