"""The generated diagnosis suite's mechanics: labels, halves, judging, one tiny real run.

Diagnosis accuracy is not asserted here (the rules are being rewritten): only that cases are
labelled by construction, halves are disjoint and cover every fault, the judge reads causes
as specified, and a handful of real cases run, are checked for materialising, and summarise.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from benchmarks.faultgen.cases import HEALTHY_WEIGHT, Suite, build_suite
from benchmarks.faultgen.faults import CONTROLS, FAULTS
from benchmarks.faultgen.judge import Seen, cause_matches, judge, seen_findings
from benchmarks.faultgen.runner import Runner
from benchmarks.faultgen.summary import summarize

KINDS = len(FAULTS) + len(CONTROLS) + HEALTHY_WEIGHT - 1


def suite(tmp_path: Path, n: int, **kw: Any) -> Suite:
    return build_suite(n, 0, tmp_path / "no-datasets", tmp_path / "files", mnist=False, **kw)


def test_cases_are_labelled_by_construction_and_reproducible(tmp_path: Path) -> None:
    s = suite(tmp_path, 3 * KINDS)
    again = suite(tmp_path, 3 * KINDS)
    assert [c.label() for c in s.cases] == [c.label() for c in again.cases]  # seeded
    for c in s.cases:
        label = c.label()
        if c.kind == "fault":
            assert label["codes"] and label["causes"], c.id
            assert all(k.count(".") >= 1 for k in label["causes"])
        else:
            assert label["codes"] == [] and label["causes"] == []
        assert c.config["train"]["threads"] == 1
        assert c.half == s.halves[c.family.name]
    lr = next(c for c in s.cases if c.fault.name == "lr_high")
    assert lr.config["train"]["optimizer"]["lr"] == lr.strength["lr"] >= 0.3
    drop = next(c for c in s.cases if c.fault.name == "dropout")
    assert 0.7 <= drop.config["model"]["dropout"] <= 0.95


def test_halves_hold_whole_families_and_each_covers_every_fault(tmp_path: Path) -> None:
    s = suite(tmp_path, 2 * KINDS)
    layout = s.layout()
    assert not set(layout["dev"]) & set(layout["heldout"])
    assert set(layout["dev"]) | set(layout["heldout"]) == {f.name for f in s.families}
    for half in ("dev", "heldout"):
        kinds = {c.fault.name for c in s.cases if c.half == half}
        assert kinds == set(FAULTS) | set(CONTROLS), half  # one round covers all, both halves
        datasets = {f.split("/")[0] for f in layout[half]}
        assert {"moons", "blobs", "spiral", "digits", "csv", "regression"} <= datasets


def test_only_and_unknown_faults(tmp_path: Path) -> None:
    s = suite(tmp_path, 4, only=["l2", "healthy"])
    assert [c.fault.name for c in s.cases] == ["l2", "l2", "healthy", "healthy"]
    with pytest.raises(ValueError, match="unknown faults"):
        suite(tmp_path, 2, only=["l3"])


def test_cause_matching_is_by_whole_dotted_components() -> None:
    assert cause_matches("train.schedule.gamma", "train.schedule")
    assert cause_matches("train.schedule", "train.schedule.gamma")
    assert cause_matches("train.lr", "train.optimizer.lr")  # hone's shorthand
    assert not cause_matches("train.l20", "train.l2")
    assert not cause_matches("train", "train.l2")  # a section alone names no setting
    assert not cause_matches("model.dropout", "train.l2")


def test_judge_code_cause_and_controls() -> None:
    fault = {"kind": "fault", "codes": ["underfitting"], "causes": ["model.dropout"]}
    right = [Seen("underfitting", "warning", ["model.dropout"])]
    v = judge(fault, right)
    assert v["correct"] and v["code_ok"] and v["top_correct"]
    v = judge(
        fault,
        [
            Seen("not_converged", "info", ["train.epochs"]),
            Seen("underfitting", "warning", ["train.l2"]),
        ],
    )
    assert v["code_ok"] and not v["correct"] and not v["top_code_ok"]
    assert not judge(fault, [Seen("healthy", "info")])["code_ok"]
    # the cause must be on the finding with the expected code, not on another one
    v = judge(
        fault,
        [Seen("overfitting", "warning", ["model.dropout"]), Seen("underfitting", "warning", [])],
    )
    assert v["code_ok"] and not v["correct"]
    control = {"kind": "control", "codes": [], "causes": []}
    assert not judge(control, [Seen("not_converged", "info")])["false_alarm"]
    assert judge(control, [Seen("overfitting", "warning")])["false_alarm"]
    noise = {"kind": "noise_control", "codes": [], "causes": []}
    assert judge(noise, [Seen("underfitting", "info")])["false_alarm"]
    assert judge(control, [Seen("healthy", "info")])["called_healthy"]


def test_findings_are_read_with_or_without_causes() -> None:
    old = SimpleNamespace(
        code="lr_too_high",
        severity="critical",
        prescriptions=[SimpleNamespace(patch={"train.optimizer.lr": 0.01}, why="lower")],
    )
    new = SimpleNamespace(
        code="underfitting", severity="warning", prescriptions=[], causes=["model.dropout"]
    )
    seen = seen_findings(SimpleNamespace(findings=[old, new]))
    assert seen[0].causes == [] and seen[0].patch == {"train.optimizer.lr": 0.01}
    assert seen[1].causes == ["model.dropout"] and seen[1].patch is None


def test_a_handful_of_real_cases_run_and_summarise(tmp_path: Path) -> None:
    s = suite(tmp_path, 8, only=["lr_high", "sorted_split", "dropout", "healthy"])
    runner = Runner(tmp_path / "store")
    records = [runner.run(c) for c in s.cases]
    for r in records:
        assert "error" not in r, r.get("error")
        assert isinstance(r["materialised"], bool) and r["findings"], r["id"]
        assert {"correct", "code_ok", "called_healthy"} <= set(r["verdict"])
    controls = [r for r in records if r["kind"] == "control"]
    assert all(r["materialised"] for r in controls)  # healthy configs really train
    assert all(r["run_id"] == r["twin"]["run_id"] for r in controls)  # a control is its twin
    assert len(runner.twins) <= len(records)
    summary = summarize(records)
    assert summary["halves"]["all"]["cases"] == 8
    assert set(summary["faults"]) == {"lr_high", "sorted_split", "dropout", "healthy"}
    json.dumps(summary)  # strict JSON for the results file
