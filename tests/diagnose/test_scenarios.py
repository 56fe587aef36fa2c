"""Each scenario is a real tiny training run designed to produce one condition; the expected
code must fire, and nothing beyond that scenario's known consequences may fire with it."""

from __future__ import annotations

from pathlib import Path

import pytest

import hone
from hone.diagnose import CODES, diagnose, load_evidence
from hone.store import RunStore
from tests.diagnose.scenarios import scenarios

# Codes that legitimately accompany a scenario's condition (a consequence, not a false alarm):
# a net that cannot learn also underfits; a shifted val set also shows a train/val gap.
CONSEQUENCES = {
    "lr_too_high": {"underfitting"},
    "lr_too_low": {"underfitting"},
    "vanishing": {"underfitting"},
    "saturation": {"underfitting", "vanishing_gradients", "bad_init"},
    "zeros_init": {"underfitting"},
    "dead_units": {"not_converged", "underfitting"},
    "imbalanced": {"underfitting"},
    "split_mismatch": {"overfitting"},
}
NAMES = [
    "overfitting",
    "underfitting",
    "lr_too_high",
    "lr_too_low",
    "vanishing",
    "saturation",
    "zeros_init",
    "dead_units",
    "imbalanced",
    "split_mismatch",
    "healthy",
]


@pytest.mark.parametrize("name", NAMES)
def test_scenario(tmp_path: Path, name: str) -> None:
    cfg, expected = scenarios(tmp_path)[name]
    result = hone.run({"name": name, **cfg}, store=str(tmp_path / "store"))
    with RunStore(str(tmp_path / "store")) as rs:
        findings = diagnose(load_evidence(rs, result.run_id))
    fired = {f.code for f in findings}
    assert expected <= fired, f"{name}: expected {expected}, got {fired}"
    unrelated = fired - expected - CONSEQUENCES.get(name, set())
    assert not unrelated, f"{name}: unrelated codes fired: {unrelated}"
    for f in findings:
        assert f.code in CODES and f.severity in ("info", "warning", "critical")
        assert f.explanation and f.evidence
        if f.code != "healthy":
            assert f.prescriptions, f.code
            for p in f.prescriptions:
                for key in p.patch:  # every patch names a real config key
                    hone.load_config(None, {key: p.patch[key]})


def test_target_error_splits_bias_and_variance(tmp_path: Path) -> None:
    cfg, _ = scenarios(tmp_path)["overfitting"]
    cfg = {**cfg, "data": {**cfg["data"], "target_error": 0.05}}
    result = hone.run(cfg, store=str(tmp_path / "store"))
    with RunStore(str(tmp_path / "store")) as rs:
        findings = {f.code: f for f in diagnose(load_evidence(rs, result.run_id))}
    bv = findings["bias_variance"]
    assert (
        bv.evidence["attack_first"] == "variance"
        and bv.evidence["variance"] > bv.evidence["avoidable_bias"]
    )
    assert bv.evidence["avoidable_bias"] == pytest.approx(
        1 - result.metrics["train_accuracy"] - 0.05, abs=1e-9
    )
