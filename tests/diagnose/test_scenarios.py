"""The scenario suite on one seed each (benchmarks/diagnosis_suite.py runs three and checks
that the top prescription helps): the expected codes fire, nothing unrelated does, the root
cause comes first, and the scenario's problem is really in the run."""

from __future__ import annotations

from pathlib import Path

import pytest

import hone
from hone.config import load_config
from hone.diagnose import CODES, diagnose_run
from hone.diagnose.prescribe import disagreements, effective, effects
from hone.runs import evidence_of
from hone.store import RunStore
from tests.diagnose.scenarios import scenarios


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scenario-data")


def _names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return [s.name for s in scenarios(Path(tmp))]


@pytest.mark.parametrize("name", _names())
def test_scenario(folder: Path, tmp_path: Path, name: str) -> None:
    scenario = {s.name: s for s in scenarios(folder)}[name]
    store = str(tmp_path / "store")
    result = hone.run({"name": name, **scenario.config}, store=store)
    if scenario.truth is not None:
        assert scenario.truth(result), f"{name}: the scenario's problem is not in the run"
    with RunStore(store) as rs:
        diagnosis = diagnose_run(evidence_of(rs, result.run_id))
    assert not diagnosis.unjudged, diagnosis.unjudged
    fired = [f.code for f in diagnosis.findings]
    assert scenario.expected <= set(fired), f"{name}: expected {scenario.expected}, got {fired}"
    unrelated = set(fired) - scenario.expected - scenario.consequences
    assert not unrelated, f"{name}: unrelated codes fired: {unrelated} ({fired})"
    assert fired[0] in scenario.root_codes, f"{name}: root cause not first: {fired}"
    for f in diagnosis.findings:
        assert f.code in CODES and f.severity in ("info", "warning", "critical")
        assert f.explanation and f.evidence
        if f.code == "healthy":
            continue
        assert f.prescriptions, f.code
        for p in f.prescriptions:
            # The sentence states only numbers its patch sets (it is made from the patch).
            assert not disagreements(p.why, p.patch), (name, f.code, p.why, p.patch)
            if p.patch:  # a real, effective change, in a direction no other finding forbids
                load_config(result.config, p.patch)
                moved = effects(result.config.to_dict(), p.patch)
                assert moved, f"{name}: {f.code} prescribes a no-op {p.patch}"
                # ... and every key of it changes the resolved config (no bias_init: zeros
                # where biases already start at zero).
                kept = effective(result.config.to_dict(), p.patch)
                assert kept == p.patch, f"{name}: {f.code}: no-op keys in {p.patch}"
                for other in diagnosis.findings:
                    for key, direction in other.harmful.items():
                        assert moved.get(key) != direction, (f.code, p.patch, other.code)
