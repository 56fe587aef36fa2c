"""A run's damaged files: diagnosis says which file is damaged and which findings could not be
judged because of it, never a rule's internal exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hone
from hone.cli import main
from hone.diagnose import Evidence, diagnose_run, load_evidence
from hone.diagnose.evidence import telemetry_problem
from hone.store import RunStore
from tests.conftest import tiny

LEAF = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(), st.text(max_size=3))
KEYS = st.sampled_from(["samples", "layers", "at_init", "at_end", "activations", "grad_norm",
                        "numel", "dead", "std", "epoch", "finite", "a"])  # fmt: skip
JSON = st.recursive(
    LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(telemetry=JSON)
def test_telemetry_either_passes_the_check_or_is_reported_damaged(telemetry: Any) -> None:
    """Whatever ``telemetry_problem`` lets through, no rule trips over: the check covers
    what the rules read."""
    problem = telemetry_problem(telemetry)
    ev = Evidence("r", "completed", "", {}, {"train_loss": [1.0, 0.5]}, {},
                  telemetry=None if problem else telemetry,
                  damaged={"telemetry.json": problem} if problem else {})  # fmt: skip
    result = diagnose_run(ev)
    for code, why in result.unjudged.items():
        assert why.startswith("the run's telemetry.json is damaged"), (code, why, telemetry)


@pytest.mark.parametrize(
    "content",
    ['{"samples": 5}', '{"samples": [{"layers": {"hidden1": 3}}]}', '{"at_end": [1, 2]}',
     '{"at_init": {"hidden1": {"std": "x"}}}', "[1, 2, 3]", "{garbage", ""],
)  # fmt: skip
def test_diagnose_names_the_damaged_file_and_the_findings_it_cost(
    capsys: pytest.CaptureFixture[str], store: Path, content: str
) -> None:
    run_id = hone.run(tiny(**{"train.epochs": 3}), store=str(store)).run_id
    (store / "runs" / run_id / "telemetry.json").write_text(content)
    with RunStore(store) as rs:
        ev = load_evidence(rs, run_id)
    assert ev.telemetry is None and "telemetry.json" in ev.damaged
    result = diagnose_run(ev)
    assert {"vanishing_gradients", "dead_units"} <= set(result.unjudged)
    with pytest.raises(SystemExit) as info:
        main(["diagnose", run_id, "--store", str(store)])
    out = capsys.readouterr().out
    assert info.value.code in (0, None)
    line = next(x for x in out.splitlines() if x.startswith("could not judge"))
    assert "vanishing_gradients" in line and "telemetry.json is damaged" in line
    assert "Error" not in out and "not iterable" not in out  # no internal exception text
    with pytest.raises(SystemExit) as info:
        main(["diagnose", run_id, "--json", "--store", str(store)])
    unjudged = json.loads(capsys.readouterr().out)["unjudged"]
    assert all("telemetry.json is damaged" in why for why in unjudged.values())
